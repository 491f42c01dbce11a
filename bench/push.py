"""The push pipeline suite (issue 5 items 3 and 4): encrypted Web Push into the webhook ->
verified, decrypted, the notification fetched, stored, fanned out to Unix-socket subscribers.

Processes: `bench.pushsender` (the instance: REST API + push worker, pywebpush/py_vapid), a
daemon of its own with `notifications.source: push` and a loopback `webhook.public_url`
(nothing leaves 127.0.0.1; ngrok is not involved), and `bench.subscribers`.

For 1, 100 and 1,000 subscribers:
- **throughput**: a burst of pushes sent as fast as 16 POSTs in flight allow; pushes/s =
  pushes / (first POST -> last delivery to the last subscriber): sustained end to end, not
  the webhook's 201s (which come before the work);
- **latency**: pushes at a steady 100/s; end-to-end latency of every delivery (webhook POST
  -> receipt by the subscriber), p50/p90/p99/max;
- the daemon's RSS with that many subscribers, and its CPU per push.
Every delivery is checked: none missing, duplicated, out of order or `dropped`, and the
daemon's `status` must count every push accepted. Baselines in the same run: the webhook floor
(the same pushes POSTed by the same sender into the bench upstream's `/push-sink`, which only
reads them and answers 201) and the fan-out floor (`bench.fanout`: the same subscriber counts
and frames, written by a process that does nothing else, each run right after the daemon's),
and the minimal pipeline (`bench.pushproxy`: webhook, VAPID verify, http_ece, catch-up GET,
SQLite and fan-out on the daemon's stack with nothing else, fed by an instance of its own).
In a full run, py-spy samples the daemon during one more burst to 100 subscribers
(`profile.analyse_push`).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from bench import profile
from bench.context import Context, Worker
from bench.daemon import Daemon, free_port, start_daemon
from bench.procs import cpu_seconds, peak_rss_mib, rss_mib

SUBSCRIBERS = (1, 100, 1000)
RATE = 100.0  # pushes/s of the latency runs
CONCURRENCY = 16  # POSTs in flight in a burst


def push_daemon(
    ctx: Context,
    name: str,
    extra_config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Worker, Daemon]:
    """The instance process that sends Web Push, and a daemon (log level warning) taking its
    pushes on a loopback webhook, started in `ctx.workdir / name` (in `env`, default the
    run's)."""
    sender, upstream = push_instance(ctx)
    port = free_port()
    webhook = {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"}
    daemon = start_daemon(
        ctx.procs,
        ctx.workdir / name,
        upstream,
        level="warning",
        name=name,
        env=ctx.env if env is None else env,
        extra_config={
            "notifications": {"source": "push"},
            "webhook": webhook,
            **(extra_config or {}),
        },
    )
    return sender, daemon


def push_instance(ctx: Context) -> tuple[Worker, str]:
    """The instance process that sends Web Push (bench.pushsender), and its URL."""
    sender = Worker(ctx, "bench.pushsender")
    return sender, f"http://127.0.0.1:{sender.receive(timeout=30)['port']}"


def push_pipeline(ctx: Context) -> tuple[Worker, Worker, str]:
    """An instance of its own, the minimal push pipeline (bench.pushproxy) subscribed to it,
    and the pipeline's Unix socket."""
    sender, upstream = push_instance(ctx)
    path = str(ctx.workdir / "pipeline.sock")
    db = str(ctx.workdir / "pipeline.db")
    options = ("--upstream", upstream, "--socket", path, "--db", db)
    pipeline = Worker(ctx, "bench.pushproxy", options)
    pipeline.receive(timeout=30)
    call(sender, {"op": "wait_subscription", "timeout": 30})
    return sender, pipeline, path


class PushSuite:
    name = "push"
    burst: dict[int, int]  # pushes per burst, by subscriber count (set by run for its mode)
    steady_s: float  # seconds of each 100 pushes/s run

    def run(self, ctx: Context) -> dict[str, Any]:
        quick = ctx.mode.name == "quick"
        # pushes per burst by subscriber count (a burst to 1,000 subscribers is 1,000
        # deliveries per push, so it is shorter), and seconds of each steady run
        self.burst = {1: 300, 100: 300, 1000: 60} if quick else {1: 1000, 100: 1000, 1000: 200}
        self.steady_s = 1.0 if quick else 2.0
        sender, daemon = push_daemon(ctx, "mastod-push")
        subscription = call(sender, {"op": "wait_subscription", "timeout": 30})
        subs = Worker(ctx, "bench.subscribers")
        result: dict[str, Any] = {
            "idle_rss_mib": rss_mib(daemon.pid),
            "endpoint": subscription["endpoint_site"],
        }
        socket_path = str(daemon.socket_path)
        # warm-up: the first pushes take the baseline and load the push stack's code paths
        call(subs, {"op": "connect", "socket": socket_path, "count": 1})
        self._pushes(sender, subs, 100, None)
        result["floor"] = self._floor(ctx, sender, max(self.burst.values()))
        fanout = FanoutFloor(ctx)
        pipeline = PipelineFloor(ctx)
        rows, floor_rows, pipeline_rows = [], [], []
        connected = 1
        for count in SUBSCRIBERS:
            if count > connected:
                call(subs, {"op": "connect", "socket": socket_path, "count": count - connected})
                connected = count
            fanout.connect(count)
            pipeline.connect(count)
            time.sleep(0.3)
            row: dict[str, Any] = {"subscribers": count, "rss_mib": rss_mib(daemon.pid)}
            floor_row: dict[str, Any] = {"subscribers": count}
            pipeline_row: dict[str, Any] = {"subscribers": count}
            pids = {"daemon": daemon.pid, "sender": sender.proc.pid, "subscribers": subs.proc.pid}
            # each run beside its floor, the same minute: the machine is shared, and a floor
            # measured a minute later can see another load
            for mode, n, rate in (
                ("burst", self.burst[count], None),
                ("steady", int(RATE * self.steady_s), RATE),
            ):
                row[mode] = self._pushes(sender, subs, n, rate, pids)
                pipeline_row[mode] = self._pushes(
                    pipeline.sender, pipeline.subs, n, rate, {"pipeline": pipeline.pid}
                )
                floor_row[mode] = fanout.publish(n, rate)
            if count == 100 and ctx.profile and not quick:
                result["profile"] = self._profile(ctx, sender, subs, daemon.pid)
            row["rss_after_mib"] = rss_mib(daemon.pid)
            rows.append(row)
            floor_rows.append(floor_row)
            pipeline_rows.append(pipeline_row)
        result["rows"] = rows
        result["fanout_floor"] = floor_rows
        result["pipeline_floor"] = pipeline_rows
        result["peak_rss_mib"] = peak_rss_mib(daemon.pid)
        # every push must have been verified and decrypted, in both encodings: a rejected one
        # would not show in the deliveries (the next accepted push's fetch brings its
        # notification too)
        result["pushes"] = daemon_status(daemon.socket_path)["notifications"]["pushes"]
        call(subs, {"op": "close"})
        log = daemon.log_path.read_text(errors="replace").splitlines()
        result["daemon_warnings"] = log[-10:]
        fanout.stop()
        pipeline.stop()
        for worker in (subs, sender):
            ctx.procs.stop(worker.proc)
        ctx.procs.stop(daemon.proc)
        return result

    def _pushes(
        self,
        sender: Worker,
        subs: Worker,
        count: int,
        rate: float | None,
        pids: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Send `count` pushes (at `rate`/s, or as fast as they go) and collect every
        delivery; with `pids`, the CPU each process used meanwhile, in µs per push."""
        call(sender, {"op": "prepare", "count": count}, timeout=120)
        gets = call(sender, {"op": "counters"})["notification_gets"]
        cpu = {name: cpu_seconds(pid) for name, pid in (pids or {}).items()}
        sent = call(sender, {"op": "send", "rate": rate, "concurrency": CONCURRENCY})
        got = call(subs, {"op": "collect", "t0": sent["t0"], "timeout": 60}, timeout=90)
        result = summary(sent, got)
        result["cpu_us_per_push"] = {
            name: (cpu_seconds(pid) - cpu[name]) / count * 1e6 for name, pid in (pids or {}).items()
        }
        result["notification_gets"] = call(sender, {"op": "counters"})["notification_gets"] - gets
        return result

    def _profile(self, ctx: Context, sender: Worker, subs: Worker, pid: int) -> dict[str, Any]:
        """py-spy on the daemon during one more burst (100 subscribers): where a push's CPU
        goes. Not counted in the rows above (sampling slows the daemon down)."""
        if profile.py_spy() is None:
            return {"skipped": "py-spy is not installed: pip install -e '.[bench]'"}
        count = self.burst[100]
        call(sender, {"op": "prepare", "count": count}, timeout=120)
        output = ctx.workdir / "py-spy-push.txt"
        cpu = cpu_seconds(pid)
        spy = profile.record(pid, 2, output)
        time.sleep(0.3)
        sent = call(sender, {"op": "send", "rate": None, "concurrency": CONCURRENCY})
        call(subs, {"op": "collect", "t0": sent["t0"], "timeout": 60}, timeout=90)
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0 or not output.exists():
            return {"skipped": f"py-spy failed: {err.decode(errors='replace')[-300:]}"}
        per_push = (cpu_seconds(pid) - cpu) / count * 1e6
        return profile.analyse_push(profile.read_raw(output), per_push)

    def _floor(self, ctx: Context, sender: Worker, count: int) -> dict[str, Any]:
        """The same pushes into a server that only answers 201."""
        call(sender, {"op": "prepare", "count": count, "floor": True}, timeout=120)
        url = f"{ctx.upstream_url}/push-sink/secret"
        sent = call(sender, {"op": "send", "rate": None, "concurrency": CONCURRENCY, "url": url})
        return {
            "sent": sent["sent"],
            "statuses": sent["statuses"],
            "pushes_s": sent["sent"] / sent["post_s"],
        }

    def markdown(self, result: dict[str, Any]) -> list[str]:
        from bench.report import push_markdown  # report imports the suites

        return push_markdown(result)


class _Beside:
    """A reference process with subscribers of its own (a second bench.subscribers process)
    on its Unix socket at `path`: the same subscriber counts as the daemon's rows."""

    def __init__(self, ctx: Context, path: str, workers: list[Worker]) -> None:
        self.ctx = ctx
        self.path = path
        self.subs = Worker(ctx, "bench.subscribers")
        self.workers = [self.subs, *workers]  # stopped in this order
        self.connected = 0

    def connect(self, count: int) -> None:
        if count > self.connected:
            call(self.subs, {"op": "connect", "socket": self.path, "count": count - self.connected})
            self.connected = count

    def stop(self) -> None:
        call(self.subs, {"op": "close"})
        for worker in self.workers:
            self.ctx.procs.stop(worker.proc)


class FanoutFloor(_Beside):
    """bench.fanout: the same frames, bursts and steady rate as the daemon's rows, written by
    a process that does nothing else."""

    def __init__(self, ctx: Context) -> None:
        path = str(ctx.workdir / "fanout.sock")
        self.fanout = Worker(ctx, "bench.fanout", ("--socket", path))
        self.fanout.receive(timeout=30)
        super().__init__(ctx, path, [self.fanout])

    def publish(self, count: int, rate: float | None) -> dict[str, Any]:
        pids = (self.fanout.proc.pid, self.subs.proc.pid)
        before = [cpu_seconds(pid) for pid in pids]
        sent = call(self.fanout, {"op": "publish", "count": count, "rate": rate})
        got = call(self.subs, {"op": "collect", "t0": sent["t0"], "timeout": 60}, timeout=90)
        result = summary(sent, got)
        after = [cpu_seconds(pid) for pid in pids]
        result["cpu_us_per_push"] = {
            "fanout": (after[0] - before[0]) / count * 1e6,
            "subscribers": (after[1] - before[1]) / count * 1e6,
        }
        return result


class PipelineFloor(_Beside):
    """bench.pushproxy, the minimal push pipeline on the daemon's stack, fed by an instance
    of its own (bench.pushsender): the same pushes, bursts and steady rate as the daemon's
    rows, each run right after the daemon's."""

    def __init__(self, ctx: Context) -> None:
        self.sender, pipeline, path = push_pipeline(ctx)
        self.pid = pipeline.proc.pid
        super().__init__(ctx, path, [pipeline, self.sender])


def daemon_status(socket_path: Path) -> dict[str, Any]:
    """The daemon's `status` result, over its Unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_path))
        sock.sendall(b'{"jsonrpc":"2.0","id":1,"method":"status"}\n')
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    result: dict[str, Any] = json.loads(answer)["result"]
    return result


def call(worker: Worker, command: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    worker.send(command)
    answer = worker.receive(timeout)
    if "error" in answer:
        raise RuntimeError(f"{command['op']}: {answer['error']}")
    return answer


def summary(sent: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    span = got.get("span_s")
    return {
        "sent": sent["sent"],
        "statuses": sent.get("statuses"),
        "post_s": sent.get("post_s"),
        "pushes_s": sent["sent"] / span if span else None,
        **{k: v for k, v in got.items() if k != "span_s"},
        "span_s": span,
    }
