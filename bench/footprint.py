"""Start-up and footprint: cold starts to READY=1 with idle RSS, and what the imports cost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.context import ROOT, Context, as_is_env
from bench.daemon import start_daemon
from bench.procs import rss_mib, wall_times
from bench.stats import median


def measure_starts(ctx: Context) -> dict[str, Any]:
    """Cold starts: start to READY=1 and idle RSS, each daemon stopped after; the same
    once as this checkout runs (no bytecode cache); and the baselines of this run."""
    ready: list[float] = []
    rss: list[float] = []
    for i in range(ctx.mode.starts):
        daemon = start_daemon(
            ctx.procs,
            ctx.workdir / f"start-{i}",
            ctx.upstream_url,
            level="warning",
            name="daemon-start",
            env=ctx.env,
        )
        time.sleep(0.5)  # settle: the account check and first GC are part of "idle"
        ready.append(daemon.ready_s)
        rss.append(rss_mib(daemon.pid))
        ctx.procs.stop(daemon.proc)
    as_is = start_daemon(
        ctx.procs,
        ctx.workdir / "start-as-is",
        ctx.upstream_url,
        level="warning",
        name="daemon-as-is",
        env=as_is_env(),
    )
    ctx.procs.stop(as_is.proc)
    baseline = wall_times(
        [sys.executable, "-c", "import asyncio, aiohttp.web"],
        ctx.mode.start_baseline_reps,
        env=ctx.env,
    )
    return {
        "ready_s": ready,
        "ready_median_s": median(ready),
        "ready_as_is_s": as_is.ready_s,
        "idle_rss_mib": rss,
        "idle_rss_median_mib": median(rss),
        "baseline_import_aiohttp_s": median(baseline),
        "baseline_rss_mib": rss_mib(ctx.upstream_pid),
    }


def import_profile(env: dict[str, str], module: str, top: int = 8) -> dict[str, Any]:
    """`python -X importtime -c "import module"`: total, and self time by top-level package."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    by_package: dict[str, int] = {}
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            own = int(parts[0].split(":")[1])
        except ValueError:
            continue  # the header line
        name = parts[2].strip().split(".")[0]
        by_package[name] = by_package.get(name, 0) + own
        total += own
    ranked = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return {
        "module": module,
        "total_ms": total / 1000,
        "top": [{"package": name, "ms": us / 1000} for name, us in ranked],
    }


_IMPORT_STEPS = (
    "asyncio",
    "aiohttp.web",
    "structlog",
    "yaml",
    "jsonschema",
    "jsonrpcserver",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "http_ece",
    "sqlite3",
    "pyngrok.ngrok",
    "mastod.app",
)
_IMPORT_SCRIPT = """
import importlib, json, sys, time
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmRSS')) / 1024
rows, prev = [], rss()
rows.append({'step': 'python', 'mib': prev, 'ms': 0.0})
for step in sys.argv[1:]:
    t = time.perf_counter()
    try:
        importlib.import_module(step)
    except ImportError:
        rows.append({'step': step, 'mib': None, 'ms': None})
        continue
    now = rss()
    rows.append({'step': step, 'mib': now - prev, 'ms': (time.perf_counter() - t) * 1000})
    prev = now
print(json.dumps(rows))
"""


def import_footprint(env: dict[str, str]) -> list[dict[str, Any]]:
    """Resident memory and time each dependency adds when imported in the daemon's order
    (each step counts only what the steps before it did not already load)."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_SCRIPT, *_IMPORT_STEPS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows
