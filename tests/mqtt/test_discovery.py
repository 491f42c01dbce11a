"""Home Assistant MQTT discovery, checked against the rules of Home Assistant's own schema
(homeassistant/components/mqtt: discovery.py TOPIC_MATCHER, schemas.py
MQTT_ENTITY_COMMON_SCHEMA and the availability/device schemas, config.py MQTT_RO_SCHEMA,
notify.py PLATFORM_SCHEMA_MODERN, sensor.py, binary_sensor.py), on what the bridge really
retains on a broker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mastod.mqtt.discovery import device_name, messages, node_id
from mastod.sandbox import RunningSandbox
from tests.integration.conftest import start_daemon
from tests.mqtt.conftest import Broker, mqtt_client, next_message, wait_for

TOPIC_MATCHER = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
# MQTT_BASE_SCHEMA + MQTT_ENTITY_COMMON_SCHEMA (with the availability schemas)
COMMON = {
    "qos", "encoding", "availability", "availability_mode", "availability_topic",
    "availability_template", "payload_available", "payload_not_available", "device", "origin",
    "enabled_by_default", "entity_category", "icon", "json_attributes_topic",
    "json_attributes_template", "object_id", "unique_id",
}  # fmt: skip
PLATFORMS: dict[str, tuple[set[str], set[str]]] = {  # component: (required, optional keys)
    "notify": ({"command_topic"}, {"command_template", "name", "retain"}),
    "sensor": (
        {"state_topic"},
        {"value_template", "name", "device_class", "state_class", "unit_of_measurement",
         "expire_after", "force_update", "last_reset_value_template", "options",
         "suggested_display_precision"},
    ),
    "binary_sensor": (
        {"state_topic"},
        {"value_template", "name", "device_class", "expire_after", "force_update",
         "off_delay", "payload_off", "payload_on"},
    ),
}  # fmt: skip
PUBLISH_TOPICS = {"command_topic"}
SUBSCRIBE_TOPICS = {"state_topic", "json_attributes_topic"}
DEVICE_KEYS = {
    "identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version",
    "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url",
}  # fmt: skip


def valid_publish_topic(topic: str) -> bool:
    return bool(topic) and "\0" not in topic and not set("+#") & set(topic)


def valid_subscribe_topic(topic: str) -> bool:
    if not topic or "\0" in topic:
        return False
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def check(topic: str, payload: dict[str, Any]) -> str:
    """Raise if Home Assistant would refuse this config; return its component."""
    match = TOPIC_MATCHER.fullmatch(topic.split("/", 1)[1])
    assert match is not None, topic
    component = match["component"]
    required, optional = PLATFORMS[component]
    assert required <= payload.keys(), (topic, required - payload.keys())
    unknown = payload.keys() - required - optional - COMMON
    assert not unknown, (topic, unknown)
    for key in PUBLISH_TOPICS & payload.keys():
        assert valid_publish_topic(payload[key]), (key, payload[key])
    for key in SUBSCRIBE_TOPICS & payload.keys():
        assert valid_subscribe_topic(payload[key]), (key, payload[key])
    assert not {"availability", "availability_topic"} <= payload.keys()  # vol.Exclusive
    for item in payload["availability"]:
        assert valid_subscribe_topic(item["topic"])
        assert set(item) <= {
            "topic",
            "payload_available",
            "payload_not_available",
            "value_template",
        }
    device = payload["device"]
    assert set(device) <= DEVICE_KEYS
    assert device.get("identifiers") or device.get("connections")
    assert all(isinstance(i, str) for i in device["identifiers"])
    assert isinstance(payload["unique_id"], str)
    assert set(payload["origin"]) <= {"name", "sw_version", "support_url"}
    assert "name" in payload["origin"]
    assert payload.get("qos", 0) in (0, 1, 2)
    return component


def test_names_from_the_account() -> None:
    account = {"id": "10937", "acct": "alice", "url": "https://social.example/@alice"}
    assert node_id(account) == "mastod_10937"
    assert node_id({"id": "a/b+c#d é"}) == "mastod_a_b_c_d__"
    assert device_name(account, "https://social.example") == "mastod @alice@social.example"
    assert device_name({"acct": "bob@other.example"}, "https://x.example") == (
        "mastod @bob@other.example"
    )


async def test_the_bridge_announces_one_device_home_assistant_accepts(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    mqtt = {"url": broker.url, "topic_prefix": "home/mastod", "discovery_prefix": "ha"}
    rpc, runner = await start_daemon(tmp_path, upstream.url, {"mqtt": mqtt})
    try:
        await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["state"] == "connected")
        me = rpc.daemon.state.account.info
        assert me is not None
        configs: dict[str, dict[str, Any]] = {}
        async with mqtt_client(broker, "ha/#") as client:
            while len(configs) < 3:  # live if this subscription beat the announcement
                message = await next_message(client)
                configs[str(message.topic)] = json.loads(message.payload)
        retained: dict[str, dict[str, Any]] = {}
        async with mqtt_client(broker, "ha/#") as client:  # after it: all three are retained
            while len(retained) < 3:
                message = await next_message(client)
                assert message.retain
                retained[str(message.topic)] = json.loads(message.payload)
        assert retained == configs
    finally:
        await runner.cleanup()
    node = f"mastod_{me['id']}"
    assert set(configs) == {
        f"ha/notify/{node}/post/config",
        f"ha/sensor/{node}/last_notification/config",
        f"ha/binary_sensor/{node}/notifications_connected/config",
    }
    components = {check(topic, payload) for topic, payload in configs.items()}
    assert components == {"notify", "sensor", "binary_sensor"}
    devices = {json.dumps(p["device"], sort_keys=True) for p in configs.values()}
    assert len(devices) == 1  # one device groups the three entities
    device = configs[f"ha/notify/{node}/post/config"]["device"]
    host = upstream.url.split("//")[1].split(":")[0]
    assert device["name"] == f"mastod @{me['acct']}@{host}"
    assert len({p["unique_id"] for p in configs.values()}) == 3
    for payload in configs.values():
        assert payload["availability"] == [
            {"topic": "home/mastod/status", "payload_available": "online",
             "payload_not_available": "offline"}
        ]  # fmt: skip
    assert configs[f"ha/notify/{node}/post/config"]["command_topic"] == "home/mastod/notify"
    sensor = configs[f"ha/sensor/{node}/last_notification/config"]
    assert sensor["state_topic"] == sensor["json_attributes_topic"] == "home/mastod/notification/+"
    binary = configs[f"ha/binary_sensor/{node}/notifications_connected/config"]
    assert binary["state_topic"] == "home/mastod/state"
    assert binary["device_class"] == "connectivity"


def render(template: str, payload: dict[str, Any]) -> str:
    """As Home Assistant renders an MQTT value template: Jinja2, sandboxed, `value_json`."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment()
    return environment.from_string(template).render(value=json.dumps(payload), value_json=payload)


def test_the_templates_render_as_home_assistant_would() -> None:
    from mastod.mqtt.topics import Topics

    account = {"id": "1", "acct": "alice"}
    configs = {
        topic.split("/")[1]: json.loads(payload)
        for topic, payload in messages(
            account, "https://social.example", Topics("mastod"), discovery_prefix="ha", qos=1
        )
    }
    sensor = configs["sensor"]["value_template"]
    mention = {"id": "9", "type": "mention", "account": {"acct": "bob@elsewhere.example"}}
    assert render(sensor, mention) == "mention from @bob@elsewhere.example"
    assert render(sensor, {"id": "10", "type": "annual_report"}) == "annual_report"
    binary = configs["binary_sensor"]["value_template"]
    for state, expected in (("connected", "ON"), ("running", "ON"), ("reconnecting in 2s", "OFF")):
        assert render(binary, {"notifications": {"source": "x", "state": state}}) == expected
