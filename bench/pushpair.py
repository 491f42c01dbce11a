"""`python -m bench.pushpair`: the push path side by side, for one change at a time.

`bench.pair`'s counterpart for Web Push. Each side is a push target with an instance
(`bench.pushsender`) and subscribers (`bench.subscribers`) of its own, all up at once:

- `mastod`: this checkout's daemon (`notifications.source: push`, log level warning);
- `pipeline`: the minimal push pipeline (`bench.pushproxy`) on the same stack;
- with `--against DIR`, also the daemon of another checkout (`git worktree add DIR REF`).

They take turns: each round sends the same number of pushes to every side (a burst, or
`--rate` pushes/s), the order alternating round by round, and every delivery is checked.
Per side and round: CPU µs per push from /proc and the p99 latency; per round, the ratios of
mastod to each other side, of which the median over rounds is reported, with their range.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import QUICK, Context, Worker, running
from bench.procs import cpu_seconds
from bench.push import CONCURRENCY, call, push_daemon, push_pipeline
from bench.stats import median


@dataclass
class Side:
    name: str
    sender: Worker
    pid: int
    subs: Worker

    def run(self, count: int, rate: float | None) -> tuple[float, float]:
        """CPU µs per push and p99 ms of `count` pushes; every delivery checked."""
        call(self.sender, {"op": "prepare", "count": count}, timeout=300)
        before = cpu_seconds(self.pid)
        sent = call(self.sender, {"op": "send", "rate": rate, "concurrency": CONCURRENCY})
        got = call(self.subs, {"op": "collect", "t0": sent["t0"], "timeout": 120}, timeout=150)
        lost = {k: got.get(k) for k in ("missing", "duplicates", "out_of_order", "dropped")}
        if any(lost.values()):
            raise RuntimeError(f"{self.name}: deliveries lost or out of order: {lost}")
        return (cpu_seconds(self.pid) - before) / count * 1e6, float(got["p99_ms"])


def daemon_side(ctx: Context, name: str, env: dict[str, str], subscribers: int) -> Side:
    sender, daemon = push_daemon(ctx, name, env=env)
    call(sender, {"op": "wait_subscription", "timeout": 30})
    return Side(name, sender, daemon.pid, _subscribers(ctx, str(daemon.socket_path), subscribers))


def pipeline_side(ctx: Context, subscribers: int) -> Side:
    sender, pipeline, path = push_pipeline(ctx)
    return Side("pipeline", sender, pipeline.proc.pid, _subscribers(ctx, path, subscribers))


def _subscribers(ctx: Context, path: str, count: int) -> Worker:
    subs = Worker(ctx, "bench.subscribers")
    call(subs, {"op": "connect", "socket": path, "count": count})
    return subs


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with running(QUICK, profile=False) as ctx:
        sides = [daemon_side(ctx, "mastod", ctx.env, args.subscribers)]
        sides.append(pipeline_side(ctx, args.subscribers))
        if args.against:
            other = dict(ctx.env, PYTHONPATH=str(args.against.resolve()))
            sides.append(daemon_side(ctx, "against", other, args.subscribers))
        for side in sides:  # warm-up: the baselines taken, the code paths loaded
            side.run(100, None)
        rounds: list[dict[str, tuple[float, float]]] = []
        for number in range(args.rounds):
            order = sides if number % 2 == 0 else sides[::-1]
            rounds.append({side.name: side.run(args.pushes, args.rate) for side in order})
            print(f"round {number + 1}/{args.rounds}: " + _round_text(rounds[-1]), flush=True)
    return {"args": vars(args) | {"against": str(args.against)}, "rounds": rounds}


def _round_text(measured: dict[str, tuple[float, float]]) -> str:
    return ", ".join(
        f"{name} {cpu:.0f} µs/push p99 {p99:.1f} ms" for name, (cpu, p99) in measured.items()
    )


def report(result: dict[str, Any]) -> str:
    rounds: list[dict[str, tuple[float, float]]] = result["rounds"]
    args = result["args"]
    mode = f"{args['rate']:g} pushes/s" if args["rate"] else "bursts"
    lines = [f"{args['pushes']} pushes per round ({mode}) to {args['subscribers']} subscribers"]
    for name in rounds[0]:
        cpu = [r[name][0] for r in rounds]
        p99 = [r[name][1] for r in rounds]
        lines.append(
            f"  {name}: CPU µs/push median {median(cpu):.0f}, p99 ms median {median(p99):.1f}"
        )
    for other in [n for n in rounds[0] if n != "mastod"]:
        for index, what in ((0, "CPU per push"), (1, "p99")):
            ratios = [r["mastod"][index] / r[other][index] for r in rounds]
            lines.append(
                f"  mastod / {other}, {what}: {median(ratios):.2f} "
                f"[{min(ratios):.2f}-{max(ratios):.2f}]"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pushpair", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--pushes", type=int, default=2000, help="pushes per side and round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--rate", type=float, help="pushes/s (default: bursts)")
    parser.add_argument("--against", type=Path, help="another checkout's root, as a baseline")
    args = parser.parse_args(argv)
    print(report(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
