"""The MQTT bridge (`mqtt:` config section): availability, every stored notification once on
its topic, RPC over topics, the daemon's state and Home Assistant discovery, on one broker
connection that reconnects by itself. `bridge.MqttBridge` is the entry point."""
