"""`python -m bench.whatif [--quick]`: measure the gain of each proposed change before it is
made. One daemon per variant (bench.patches applied at start), all against the same
upstream, driven in interleaved rounds beside the floor and the minimal proxy; every figure
is a ratio to the unpatched daemon (or to the floor) in the same round. Writes
bench/results/whatif.json and whatif.md. Takes about 3 minutes (--quick: about 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.context import (
    FULL,
    QUICK,
    RESULTS,
    Context,
    Server,
    Worker,
    prime_bytecode,
    python_env,
    start_proxy,
    start_upstream,
)
from bench.daemon import DaemonFailed, start_daemon
from bench.matrix import FLOOR, Cell, run_cell
from bench.procs import Processes
from bench.run import meta
from bench.stats import median

FIVE = ["single_encode", "decode_renames", "direct_dispatch", "lean_get_session", "log_guard"]
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "single_encode": ["single_encode"],
    "decode_renames": ["decode_renames"],
    "direct_dispatch": ["direct_dispatch"],
    "lean_get_session": ["lean_get_session"],
    "log_guard": ["log_guard"],
    "all five": FIVE,
    "all five + orjson": [*FIVE, "orjson"],
    "all five + orjson + uvloop": [*FIVE, "orjson", "uvloop"],
}
CELLS = [
    ("get_status", 16, "unix"),
    ("get_status", 1, "unix"),
    ("get_status", 16, "http"),
    ("get_home_timeline", 16, "unix"),
]


def _cells(variants: list[str]) -> list[Cell]:
    cells = [
        Cell("get_status", 16, FLOOR, "direct", None),
        Cell("get_status", 1, FLOOR, "direct", None),
        Cell("get_home_timeline", 16, FLOOR, "direct", None),
        Cell("get_status", 16, "minimal proxy unix", "unix", "proxy"),
    ]
    for variant in variants:
        cells += [Cell(op, n, variant, target, variant) for op, n, target in CELLS]
    return cells


def _key(cell: Cell) -> str:
    return f"{cell.op}|{cell.clients}|{cell.target}|{cell.label}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    wanted = args.variants.split(",") if args.variants else list(VARIANTS)
    if "baseline" not in wanted:
        wanted.insert(0, "baseline")
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    env = python_env()
    results: dict[str, Any] = {"meta": meta(mode), "variants": {}, "failed": {}}
    rounds: list[dict[str, dict[str, Any]]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mastod-whatif-") as tmp,
        Processes().scope() as procs,
    ):
        ctx = Context(mode=mode, procs=procs, workdir=Path(tmp), env=env)
        prime_bytecode(env)
        start_upstream(ctx)
        for variant in wanted:
            launcher = [
                sys.executable,
                "-m",
                "bench.patches",
                "--apply",
                ",".join(VARIANTS[variant]),
            ]
            try:
                daemon = start_daemon(
                    procs,
                    ctx.workdir / variant.replace(" ", "_").replace("+", "p"),
                    ctx.upstream_url,
                    level="warning",
                    name=variant,
                    env=env,
                    launcher=[*launcher, "--"],
                )
            except DaemonFailed as exc:
                results["failed"][variant] = str(exc)[-400:]
                continue
            ctx.daemons[variant] = daemon
            ctx.servers[variant] = Server(variant, daemon.pid, daemon.endpoints())
        ctx.servers["proxy"] = start_proxy(ctx)
        ctx.worker = Worker(ctx)
        running = [v for v in wanted if v in ctx.servers]
        log(f"{len(running)} variants running; {mode.rounds} rounds...")
        cells = _cells(running)
        for r in range(mode.rounds):
            measured = {}
            for cell in cells if r % 2 == 0 else reversed(cells):
                measured[_key(cell)] = run_cell(
                    ctx, cell, warmup=mode.warmup, duration=mode.duration
                )
            rounds.append(measured)
            log(f"round {r + 1}/{mode.rounds} done")
    for variant in running:
        rows = {}
        for op, n, target in CELLS:
            k = f"{op}|{n}|{target}|{variant}"
            base = f"{op}|{n}|{target}|baseline"
            floor = f"{op}|{n}|direct|{FLOOR}"
            vs_base = [
                r[k]["calls_s"] / r[base]["calls_s"]
                for r in rounds
                if r.get(k, {}).get("calls_s") and r.get(base, {}).get("calls_s")
            ]
            vs_floor = [
                r[k]["calls_s"] / r[floor]["calls_s"]
                for r in rounds
                if r.get(k, {}).get("calls_s") and r.get(floor, {}).get("calls_s")
            ]
            cpu = [
                c
                for r in rounds
                if (c := r.get(k, {}).get("cpu_us_per_call", {}).get("server")) is not None
            ]
            rows[f"{op}, {n} client{'s' * (n > 1)}, {target}"] = {
                "calls_s": median([r[k]["calls_s"] for r in rounds if r.get(k, {}).get("calls_s")]),
                "vs_baseline": median(vs_base),
                "vs_baseline_rounds": vs_base,
                "vs_floor": median(vs_floor),
                "server_cpu_us_per_call": median(cpu),
                "errors": sum(r.get(k, {}).get("errors", 0) for r in rounds),
                "error": next((r[k]["error"] for r in rounds if r.get(k, {}).get("error")), None),
            }
        results["variants"][variant] = {"patches": VARIANTS[variant], "cells": rows}
    proxy = [
        r[k]["calls_s"] / r[f"get_status|16|direct|{FLOOR}"]["calls_s"]
        for r in rounds
        if r.get(k := "get_status|16|unix|minimal proxy unix", {}).get("calls_s")
    ]
    results["proxy_unix16_vs_floor"] = median(proxy)
    results["meta"]["duration_s"] = time.perf_counter() - began
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "whatif.json").write_text(json.dumps(results, indent=1) + "\n")
    markdown = render(results)
    (args.output / "whatif.md").write_text(markdown)
    print(markdown)
    return 0


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# mastod what-if — {meta['date']} ({meta['mode']} run, {meta['machine']})",
        "",
        "Each variant is the daemon with bench.patches applied (a simulation of one proposed "
        "change). x baseline: median over rounds of variant/unpatched calls/s, same round; "
        "CPU: the daemon's user+system µs per call. Minimal proxy Unix x16 vs floor: "
        f"{_r(results.get('proxy_unix16_vs_floor'))}.",
        "",
    ]
    cell_names = (
        next(iter(results["variants"].values()))["cells"].keys() if results["variants"] else []
    )
    header = ["variant"]
    for name in cell_names:
        header += [f"{name}: x baseline", "x floor", "CPU µs/call"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, data in results["variants"].items():
        row = [variant]
        for name in cell_names:
            cell = data["cells"][name]
            row += [
                _r(cell["vs_baseline"]) + (" (errors!)" if cell["errors"] else ""),
                _r(cell["vs_floor"]),
                "n/a"
                if cell["server_cpu_us_per_call"] is None
                else f"{cell['server_cpu_us_per_call']:.0f}",
            ]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for variant, reason in results.get("failed", {}).items():
        lines.append(f"- {variant}: did not start ({reason})")
    return "\n".join(lines) + "\n"


def _r(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
