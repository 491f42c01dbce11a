"""`python -m bench`: start everything on 127.0.0.1, measure, stop everything, write
bench/results/latest.json and latest.md. See bench/README.md for what each figure means.

Order of a run: upstream -> cold starts of the daemon (start to READY, idle RSS) -> the
daemons under load (log level warning, and info for the logging cost), the minimal proxy and
the load-client worker -> the throughput matrix in interleaved rounds -> py-spy under load ->
one-shot calls -> import profile -> stop everything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from bench import oneshot, profile, report
from bench.context import (
    FULL,
    PYCACHE,
    QUICK,
    RESULTS,
    ROOT,
    Context,
    Mode,
    Worker,
    as_is_env,
    running,
    start_proxy,
)
from bench.footprint import import_footprint, import_profile, measure_starts
from bench.matrix import run_matrix
from bench.mqtt import MqttSuite
from bench.procs import cpu_seconds, peak_rss_mib, rss_mib
from bench.push import PushSuite


class Suite(Protocol):
    """EXTENSION POINT. A suite runs against the live Context (after the RPC matrix, with
    ctx.upstream_url still up) and returns a JSON-able dict, stored under its `name` in
    latest.json and rendered by its `markdown`. It starts and stops its own processes
    through ctx.procs."""

    name: str

    def run(self, ctx: Context) -> dict[str, Any]: ...

    def markdown(self, result: dict[str, Any]) -> list[str]: ...


EXTRA_SUITES: list[Suite] = [PushSuite(), MqttSuite()]


# -- profile --------------------------------------------------------------------------------


def run_profile(ctx: Context, target: str, seconds: float) -> dict[str, Any]:
    """py-spy on the daemon under 16 clients of get_status over `target`."""
    daemon = ctx.daemons["mastod"]
    output = ctx.workdir / f"py-spy-{target}.txt"
    if profile.py_spy() is None:
        return {"skipped": "py-spy is not installed: pip install -e '.[bench]'"}
    cpu_before = cpu_seconds(daemon.pid)
    assert ctx.worker is not None
    server = ctx.servers["mastod"]
    command = {
        "target": target,
        "op": "get_status",
        "clients": 16,
        "warmup": 0.5,
        "duration": seconds + 1.0,
        "upstream": ctx.upstream_url,
        **server.endpoints,
    }
    ctx.worker.send(command)
    time.sleep(0.6)
    spy = profile.record(daemon.pid, seconds, output)
    _, err = spy.communicate(timeout=seconds + 60)
    answer = ctx.worker.receive(timeout=120)
    cpu = cpu_seconds(daemon.pid) - cpu_before
    if spy.returncode != 0 or not output.exists():
        return {"skipped": f"py-spy failed: {err.decode(errors='replace')[-300:]}"}
    total = answer.get("total_calls") or 0
    per_call = cpu / total * 1e6 if total else None
    result = profile.analyse(profile.read_raw(output), per_call)
    result["transport"] = target
    result["calls_s_while_profiled"] = (
        answer["calls"] / answer["window_s"] if answer.get("window_s") else None
    )
    return result


def _rep_kind(name: str) -> str:
    if name.startswith("socat"):
        return "socat"
    return "mastod" if name.startswith("mastod") else "other"


# -- the run --------------------------------------------------------------------------------


def meta(mode: Mode) -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    dirty = [line[3:] for line in git("status", "--porcelain", "mastod").splitlines()]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode.name,
        "machine": f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {
            name: version(name)
            for name in ("mastod", "aiohttp", "jsonrpcserver", "structlog", "Mastodon.py")
        },
        "git": git("rev-parse", "--short", "HEAD"),
        "uncommitted_mastod_files": dirty,
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "env_notes": {
            "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
            "bytecode_cache": str(PYCACHE),
        },
    }


def run_one_suite(name: str, mode: Mode, output: Path, *, profile: bool) -> int:
    """`--suite NAME`: that suite alone, against an upstream of its own."""
    suite = next(s for s in EXTRA_SUITES if s.name == name)
    with running(mode, profile=profile) as ctx:
        results = {"meta": meta(mode), name: suite.run(ctx)}
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    markdown = "\n".join(suite.markdown(results[name]))
    (output / f"{name}.md").write_text(markdown + "\n")
    print(markdown)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark mastod against a local upstream (everything on 127.0.0.1).",
    )
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="directory for latest.json and latest.md"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument(
        "--suite",
        choices=[s.name for s in EXTRA_SUITES],
        help="run only this suite (results in DIR/<suite>.json and .md)",
    )
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.suite:
        return run_one_suite(args.suite, mode, args.output, profile=not args.no_profile)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {"meta": meta(mode)}
    results["meta"]["rounds"] = mode.rounds
    with running(mode, profile=not args.no_profile) as ctx:
        env = ctx.env
        log(f"upstream on {ctx.upstream_url}")
        results["start"] = measure_starts(ctx)
        log("cold starts measured")
        ctx.serve_daemon("mastod", "warning")
        ctx.serve_daemon("mastod-info", "info")
        ctx.servers["proxy"] = start_proxy(ctx)
        ctx.worker = Worker(ctx)
        time.sleep(0.5)
        results["start"]["proxy_idle_rss_mib"] = rss_mib(ctx.servers["proxy"].pid)
        log("daemons, proxy and load clients up; throughput matrix...")
        results["throughput"] = run_matrix(ctx, log)
        main_pid = ctx.daemons["mastod"].pid
        results["start"]["rss_after_load_mib"] = rss_mib(main_pid)
        results["start"]["peak_rss_mib"] = peak_rss_mib(main_pid)
        profiles = []
        if not args.no_profile:
            log("profiling the daemon under load (py-spy)...")
            profiles.append(run_profile(ctx, "unix", mode.profile_s))
            if mode.profile_http:
                profiles.append(run_profile(ctx, "http", mode.profile_s * 0.6))
        results["profiles"] = profiles
        log("one-shot calls...")
        daemon = ctx.daemons["mastod"]
        shots = oneshot.commands(
            socket_path=daemon.socket_path,
            config_path=daemon.socket_path.parent.parent / "mastod.yaml",
            upstream=ctx.upstream_url,
            env=env,
            env_as_is=as_is_env(),
        )
        reps = {s.name: mode.oneshot_reps[_rep_kind(s.name)] for s in shots}
        results["oneshot"] = oneshot.run(shots, reps)
        results["imports"] = [
            import_profile(env, "mastod.app"),
            import_profile(env, "mastod.cli"),
        ]
        results["import_footprint"] = import_footprint(env)
        for suite in EXTRA_SUITES:
            log(f"suite {suite.name}...")
            results[suite.name] = suite.run(ctx)
        results["meta"]["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
        # At log.level warning the daemon should have said nothing during the whole run.
        warnings = ctx.daemons["mastod"].log_path.read_text(errors="replace")
    results["meta"]["duration_s"] = time.perf_counter() - began
    results["meta"]["daemon_warnings"] = warnings.splitlines()[-10:]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    markdown = report.render(results, extra={s.name: s.markdown for s in EXTRA_SUITES})
    (args.output / "latest.md").write_text(markdown)
    print(markdown)
    log(f"wrote {args.output / 'latest.json'} and latest.md")
    return 0
