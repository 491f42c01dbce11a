"""The MQTT bridge suite (issue 14): notifications/s through the bridge to an MQTT subscriber,
and the latency the bridge adds over a Unix-socket subscriber of the same daemon, same pushes.

Processes: a mosquitto of its own on a free loopback port (anonymous, no persistence), the
instance `bench.pushsender` (as in the push suite: encrypted Web Push, notifications fetched
by the daemon), a daemon with `notifications.source: push` and `mqtt:` pointing at that
broker (QoS 1, discovery off), one Unix-socket subscriber (`bench.subscribers`) and one MQTT
subscriber (`bench.mqttsub`) on `mastod/notification/+`.

- **burst**: pushes sent as fast as 16 POSTs in flight allow; notifications/s = pushes /
  (first POST -> last receipt), for each subscriber: the bridge's figure is the MQTT one;
- **steady**: pushes at 100/s; end-to-end latency (webhook POST -> receipt) p50/p99 at each
  subscriber; the bridge's added latency is MQTT minus Unix at the same percentile.
Every receipt is checked on both sides: nothing missing, duplicated or out of order.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.context import Context, Worker
from bench.daemon import free_port
from bench.procs import cpu_seconds
from bench.push import CONCURRENCY, call, daemon_status, push_daemon, summary

STEADY_RATE = 100.0  # pushes/s of the latency run


class MqttSuite:
    name = "mqtt"

    def run(self, ctx: Context) -> dict[str, Any]:
        mosquitto = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
        if mosquitto is None:
            return {"skipped": "mosquitto is not installed (apt-get install mosquitto)"}
        quick = ctx.mode.name == "quick"
        burst = 300 if quick else 2000
        steady = int(STEADY_RATE * (1.0 if quick else 3.0))
        broker_port = free_port()
        conf = ctx.workdir / "mosquitto.conf"
        conf.write_text(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\nuser root\n")
        ctx.procs.spawn("mosquitto", [mosquitto, "-c", str(conf)])
        bridge = {"url": f"mqtt://127.0.0.1:{broker_port}", "discovery": False}
        sender, daemon = push_daemon(ctx, "mastod-mqtt", {"mqtt": bridge})
        call(sender, {"op": "wait_subscription", "timeout": 30})
        deadline = time.monotonic() + 30
        while daemon_status(daemon.socket_path)["mqtt"]["state"] != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError("the bridge did not connect to mosquitto")
            time.sleep(0.1)
        unix = Worker(ctx, "bench.subscribers")
        call(unix, {"op": "connect", "socket": str(daemon.socket_path), "count": 1})
        mqtt = Worker(ctx, "bench.mqttsub")
        topic = "mastod/notification/+"
        call(mqtt, {"op": "connect", "host": "127.0.0.1", "port": broker_port, "topic": topic})
        self._pushes(sender, unix, mqtt, 100, None, daemon.pid)  # warm-up
        result: dict[str, Any] = {
            "burst": self._pushes(sender, unix, mqtt, burst, None, daemon.pid),
            "steady": self._pushes(sender, unix, mqtt, steady, STEADY_RATE, daemon.pid),
            "published": daemon_status(daemon.socket_path)["mqtt"]["published"],
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }
        for worker in (mqtt, unix, sender):
            ctx.procs.stop(worker.proc)
        ctx.procs.stop(daemon.proc)
        return result

    def _pushes(
        self,
        sender: Worker,
        unix: Worker,
        mqtt: Worker,
        count: int,
        rate: float | None,
        pid: int,
    ) -> dict[str, Any]:
        call(sender, {"op": "prepare", "count": count}, timeout=120)
        cpu = cpu_seconds(pid)
        sent = call(sender, {"op": "send", "rate": rate, "concurrency": CONCURRENCY})
        at_unix = call(unix, {"op": "collect", "t0": sent["t0"], "timeout": 60}, timeout=90)
        at_mqtt = call(mqtt, {"op": "collect", "t0": sent["t0"], "timeout": 60}, timeout=90)
        return {
            "unix": summary(sent, at_unix),
            "mqtt": summary(sent, at_mqtt),
            "daemon_cpu_us_per_push": (cpu_seconds(pid) - cpu) / count * 1e6,
        }

    def markdown(self, result: dict[str, Any]) -> list[str]:
        if "skipped" in result:
            return ["## MQTT bridge", "", f"Skipped: {result['skipped']}", ""]
        burst, steady = result["burst"], result["steady"]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        def added(p: str) -> str:
            a, b = steady["mqtt"][p], steady["unix"][p]
            return "-" if a is None or b is None else f"{a - b:+.2f}"

        def checked(side: dict[str, Any]) -> str:
            bad = side["missing"] + side["duplicates"] + side["out_of_order"]
            return "all, once, in order" if bad == 0 else f"{bad} wrong"

        return [
            "## MQTT bridge",
            "",
            "| subscriber | burst notifications/s | steady p50 ms | steady p99 ms | deliveries |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {burst[side]['pushes_s']:.0f} | {ms(steady[side]['p50_ms'])} | "
                f"{ms(steady[side]['p99_ms'])} | {checked(burst[side])}; {checked(steady[side])} |"
                for name, side in (("Unix socket", "unix"), ("MQTT (bridge, QoS 1)", "mqtt"))
            ),
            "",
            f"Added by the bridge at {STEADY_RATE:.0f} pushes/s: p50 {added('p50_ms')} ms, "
            f"p99 {added('p99_ms')} ms. Burst of {burst['mqtt']['sent']} pushes, daemon CPU "
            f"{burst['daemon_cpu_us_per_push']:.0f} µs/push; load average {result['loadavg']}.",
            "",
        ]
