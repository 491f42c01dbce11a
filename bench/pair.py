"""`python -m bench.pair`: mastod and the minimal proxy side by side, for one change at a time.

The full run (`python -m bench`) measures each cell once per round, minutes apart; on a shared
two-core machine that scatters the CPU-per-call ratios by ±20%. Here the servers being
compared are all up at once and take turns in short blocks (the order alternating block by
block), so each ratio is taken between measurements seconds apart, and the median over blocks
is reported:

- `mastod` (`log.level: warning`), `mastod-info` (`log.level: info`) and the minimal proxy;
- with `--against DIR`, also the daemon of another checkout (`git worktree add DIR REF`), at
  `warning`: the before/after of a change, in the same minutes.

Per cell (call x transport x clients): the server's CPU per call from /proc and the p50
latency, and the ratios the issue's targets are stated in (mastod / proxy, info / warning,
mastod / the other checkout). Nothing is asserted: the targets are printed beside.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import (
    QUICK,
    Worker,
    running,
    start_proxy,
)
from bench.matrix import Cell, run_cell
from bench.stats import median


@dataclass(frozen=True)
class Row:
    op: str
    target: str
    clients: int

    @property
    def name(self) -> str:
        return f"{self.op} {self.target} x{self.clients}"


ROWS = (
    Row("get_status", "unix", 16),
    Row("get_status", "http", 16),
    Row("get_status", "unix", 1),
    Row("get_home_timeline", "unix", 16),
)
# (numerator, denominator, target) for each ratio printed
RATIOS = (
    ("mastod", "proxy", 1.2),
    ("mastod-info", "mastod", 1.1),
    ("mastod", "against", None),
)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with running(QUICK, profile=False) as ctx:
        ctx.serve_daemon("mastod", "warning")
        ctx.serve_daemon("mastod-info", "info")
        if args.against:
            other = dict(ctx.env, PYTHONPATH=str(args.against.resolve()))
            ctx.serve_daemon("against", "warning", other)
        ctx.servers["proxy"] = start_proxy(ctx)
        ctx.worker = Worker(ctx)
        time.sleep(0.5)
        rows = [row for row in ROWS if not args.only or args.only in row.name]
        blocks: list[dict[str, dict[str, dict[str, Any]]]] = []
        for b in range(args.blocks):
            block: dict[str, dict[str, dict[str, Any]]] = {}
            for row in rows:
                servers = list(ctx.servers)
                if b % 2:
                    servers.reverse()
                block[row.name] = {
                    server: run_cell(
                        ctx,
                        Cell(row.op, row.clients, server, row.target, server),
                        warmup=0.2,
                        duration=args.seconds,
                    )
                    for server in servers
                }
            blocks.append(block)
            print(f"block {b + 1}/{args.blocks} done", file=sys.stderr, flush=True)
    return summarise(blocks, [row.name for row in rows])


def summarise(
    blocks: list[dict[str, dict[str, dict[str, Any]]]], rows: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        cpu: dict[str, list[float]] = {}
        p50: dict[str, list[float]] = {}
        for block in blocks:
            for server, cell in block[row].items():
                cpu.setdefault(server, []).append(cell["cpu_us_per_call"]["server"])
                p50.setdefault(server, []).append(cell["p50_ms"])
        ratios = {}
        for num, den, _target in RATIOS:
            if num in cpu and den in cpu:
                per_block = [a / b for a, b in zip(cpu[num], cpu[den], strict=True)]
                ratios[f"{num}/{den}"] = {
                    "median": median(per_block),
                    "range": [min(per_block), max(per_block)],
                }
        p50_ratio = [a / b for a, b in zip(p50["mastod"], p50["proxy"], strict=True)]
        out[row] = {
            "cpu_us_per_call": {server: median(values) for server, values in cpu.items()},
            "p50_ms": {server: median(values) for server, values in p50.items()},
            "cpu_ratios": ratios,
            "p50_mastod/proxy": median(p50_ratio),
        }
    return out


def render(result: dict[str, Any]) -> str:
    lines = []
    for row, data in result.items():
        cpu = ", ".join(f"{s} {v:.0f}" for s, v in data["cpu_us_per_call"].items())
        lines.append(f"{row}: server CPU µs/call {cpu}")
        for num, den, target in RATIOS:
            ratio = data["cpu_ratios"].get(f"{num}/{den}")
            if ratio:
                lo, hi = ratio["range"]
                goal = f" (target <= {target})" if target else ""
                lines.append(f"  {num}/{den}: {ratio['median']:.2f} [{lo:.2f}-{hi:.2f}]{goal}")
        p50 = ", ".join(f"{s} {v:.2f}" for s, v in data["p50_ms"].items())
        lines.append(f"  p50 ms {p50}; mastod/proxy {data['p50_mastod/proxy']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pair", description=__doc__)
    parser.add_argument("--blocks", type=int, default=6, help="turns each server takes")
    parser.add_argument("--seconds", type=float, default=1.0, help="window of one turn")
    parser.add_argument("--against", type=Path, help="another checkout's root, as a baseline")
    parser.add_argument("--only", help="rows whose name contains this (e.g. 'unix x16')")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
