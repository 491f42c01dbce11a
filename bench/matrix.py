"""The throughput matrix: cells (call x clients x target) run in interleaved rounds by the
load-client worker, with CPU per call from /proc, and the ratios computed round by round."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.clients import OPS
from bench.context import Context
from bench.procs import cpu_seconds
from bench.stats import median, percentile

CLIENTS = (1, 16)


@dataclass(frozen=True)
class Cell:
    op: str
    clients: int
    label: str
    target: str  # the worker's target
    server: str | None  # key in ctx.servers, None when the client calls the upstream


FLOOR = "floor: aiohttp direct"
MASTODON_PY = "Mastodon.py direct"


def group(op: str, clients: int) -> list[Cell]:
    cells = [
        Cell(op, clients, FLOOR, "direct", None),
        Cell(op, clients, "mastod unix", "unix", "mastod"),
        Cell(op, clients, "mastod http", "http", "mastod"),
        Cell(op, clients, "mastod websocket", "websocket", "mastod"),
        Cell(op, clients, "minimal proxy unix", "unix", "proxy"),
        Cell(op, clients, MASTODON_PY, "mastodonpy", None),
    ]
    if op == "get_status":
        cells.append(Cell(op, clients, "minimal proxy http", "http", "proxy"))
        cells.append(Cell(op, clients, "mastod unix, log info", "unix", "mastod-info"))
        if clients == 16:
            cells.append(Cell(op, clients, "mastod http, log info", "http", "mastod-info"))
    return cells


def system_busy_seconds() -> float:
    """CPU time all processes of the machine have used (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_cell(ctx: Context, cell: Cell, *, warmup: float, duration: float) -> dict[str, Any]:
    assert ctx.worker is not None
    server = ctx.servers.get(cell.server) if cell.server else None
    command = {
        "target": cell.target,
        "op": cell.op,
        "clients": cell.clients,
        "warmup": warmup,
        "duration": duration,
        "min_calls": 2 * cell.clients,
        "max_duration": max(duration, ctx.mode.max_duration),
        "upstream": ctx.upstream_url,
        **(server.endpoints if server else {}),
    }
    ours = ctx.our_pids()
    before = {pid: cpu_seconds(pid) for pid in ours}
    busy = system_busy_seconds()
    started = time.perf_counter()
    answer = ctx.worker.run(command, timeout=warmup + ctx.mode.max_duration + 120)
    wall = time.perf_counter() - started
    after = {pid: cpu_seconds(pid) for pid in ours}
    if "fatal" in answer:
        return {"error": answer["fatal"], "calls_s": None, "errors": 1}
    foreign = (system_busy_seconds() - busy) - sum(after[p] - before[p] for p in ours)
    total = answer["total_calls"] or 1
    lat_ms = [x / 1000 for x in answer["lat_us"]]

    def us_per_call(pid: int | None) -> float | None:
        return None if pid is None else (after[pid] - before[pid]) / total * 1e6

    return {
        "calls_s": answer["calls"] / answer["window_s"] if answer["window_s"] > 0 else None,
        "n": answer["calls"],
        "p50_ms": percentile(lat_ms, 50),
        "p99_ms": percentile(lat_ms, 99),
        "lat_ms": lat_ms,
        "errors": answer["errors"],
        "error": answer["error"],
        "cpu_us_per_call": {
            "client": answer["cpu_s"] / total * 1e6,
            "server": us_per_call(server.pid if server else None),
            "upstream": us_per_call(ctx.upstream_pid),
        },
        "other_load_cores": max(0.0, foreign / wall),
    }


def run_matrix(ctx: Context, log: Callable[[str], None]) -> dict[str, Any]:
    """Every group in every round; within a group the order alternates by round so that a
    drift of the machine's speed does not always favour the same target."""
    rounds: list[dict[str, dict[str, Any]]] = []
    for r in range(ctx.mode.rounds):
        measured: dict[str, dict[str, Any]] = {}
        for op in OPS:
            for clients in CLIENTS:
                cells = group(op, clients)
                for cell in cells if r % 2 == 0 else reversed(cells):
                    result = run_cell(ctx, cell, warmup=ctx.mode.warmup, duration=ctx.mode.duration)
                    measured[key(cell)] = result
                log(f"round {r + 1}/{ctx.mode.rounds}: {op} x{clients} done")
        rounds.append(measured)
    return summarise(rounds)


def key(cell: Cell) -> str:
    return f"{cell.op}|{cell.clients}|{cell.label}"


def summarise(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    cells: list[dict[str, Any]] = []
    for op in OPS:
        for clients in CLIENTS:
            floor_key = f"{op}|{clients}|{FLOOR}"
            for cell in group(op, clients):
                k = key(cell)
                results = [r[k] for r in rounds if k in r]
                rates = [x["calls_s"] for x in results if x.get("calls_s")]
                floor_ratios = [
                    x["calls_s"] / r[floor_key]["calls_s"]
                    for r in rounds
                    if (x := r.get(k)) and x.get("calls_s") and r[floor_key].get("calls_s")
                ]
                lat = [v for x in results for v in x.get("lat_ms", [])]
                cpu = [x["cpu_us_per_call"] for x in results if "cpu_us_per_call" in x]
                summary = {
                    "op": op,
                    "clients": clients,
                    "target": cell.label,
                    "calls_s": median(rates),
                    "calls_s_rounds": rates,
                    "vs_floor": median(floor_ratios),
                    "vs_floor_rounds": floor_ratios,
                    "p50_ms": percentile(lat, 50),
                    "p99_ms": percentile(lat, 99),
                    "n": len(lat),
                    "errors": sum(x.get("errors", 0) for x in results),
                    "error": next((x["error"] for x in results if x.get("error")), None),
                    "server_cpu_us_per_call": median(
                        [c["server"] for c in cpu if c["server"] is not None]
                    ),
                    "client_cpu_us_per_call": median([c["client"] for c in cpu]),
                    "upstream_cpu_us_per_call": median([c["upstream"] for c in cpu]),
                    "other_load_cores": max(
                        (x.get("other_load_cores", 0.0) for x in results), default=None
                    ),
                }
                cells.append(summary)
    return {"cells": cells, "ratios": named_ratios(rounds), "logging": logging_cost(rounds)}


def _paired(rounds: list[dict[str, dict[str, Any]]], num: str, den: str) -> list[float]:
    """num/den calls/s, round by round (both measured minutes apart at most)."""
    values = []
    for r in rounds:
        a, b = r.get(num, {}).get("calls_s"), r.get(den, {}).get("calls_s")
        if a and b:
            values.append(a / b)
    return values


def named_ratios(rounds: list[dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The issue's ratios (and the minimal proxy's, to show what this machine allows)."""
    s, t = "get_status", "get_home_timeline"
    floor16, floor1 = f"{s}|16|{FLOOR}", f"{s}|1|{FLOOR}"
    table = [
        ("mastod Unix, 16 clients, get_status / floor", f"{s}|16|mastod unix", floor16, ">= 0.80"),
        ("mastod HTTP, 16 clients, get_status / floor", f"{s}|16|mastod http", floor16, ">= 0.55"),
        ("mastod Unix, 1 client, get_status / floor", f"{s}|1|mastod unix", floor1, ">= 0.45"),
        (
            "mastod WebSocket, 16 clients, get_status / floor",
            f"{s}|16|mastod websocket",
            floor16,
            "",
        ),
        (
            "minimal proxy Unix, 16 clients, get_status / floor",
            f"{s}|16|minimal proxy unix",
            floor16,
            "issue's machine: 0.84",
        ),
        (
            "minimal proxy HTTP, 16 clients, get_status / floor",
            f"{s}|16|minimal proxy http",
            floor16,
            "issue's machine: 0.53",
        ),
        (
            "minimal proxy Unix, 1 client, get_status / floor",
            f"{s}|1|minimal proxy unix",
            floor1,
            "issue's machine: 0.48",
        ),
        (
            "mastod / minimal proxy, Unix, 16 clients, get_status",
            f"{s}|16|mastod unix",
            f"{s}|16|minimal proxy unix",
            "",
        ),
        (
            "mastod / minimal proxy, HTTP, 16 clients, get_status",
            f"{s}|16|mastod http",
            f"{s}|16|minimal proxy http",
            "",
        ),
        (
            "mastod / minimal proxy, Unix, 1 client, get_status",
            f"{s}|1|mastod unix",
            f"{s}|1|minimal proxy unix",
            "",
        ),
    ]
    for op in (s, t):
        for n in CLIENTS:
            table.append(
                (
                    f"mastod Unix / Mastodon.py, {n} client{'s' * (n > 1)}, {op}",
                    f"{op}|{n}|mastod unix",
                    f"{op}|{n}|{MASTODON_PY}",
                    "> 10",
                )
            )
    return [
        {"name": name, "value": median(v), "rounds": v, "goal": goal}
        for name, num, den, goal in table
        for v in [_paired(rounds, num, den)]
    ]


def logging_cost(rounds: list[dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    s = "get_status"
    pairs = [
        ("Unix, 1 client", f"{s}|1|mastod unix, log info", f"{s}|1|mastod unix"),
        ("Unix, 16 clients", f"{s}|16|mastod unix, log info", f"{s}|16|mastod unix"),
        ("HTTP, 16 clients", f"{s}|16|mastod http, log info", f"{s}|16|mastod http"),
    ]
    rows = []
    for name, num, den in pairs:
        values = _paired(rounds, num, den)
        rows.append(
            {
                "name": f"get_status, {name}: log.level info / warning",
                "value": median(values),
                "rounds": values,
            }
        )
    return rows
