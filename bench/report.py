"""latest.json -> latest.md: the tables a reader (and the README) needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Renderer = Callable[[dict[str, Any]], list[str]]


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}x" if value < 0.1 else f"{value:.2f}x"


def _spread(values: Iterable[float]) -> str:
    values = list(values)
    if len(values) < 2:
        return ""
    return f"{min(values):.2f}-{max(values):.2f}"


def _shares(categories: list[dict[str, Any]], cost: str, at_least: float = 0.0) -> list[list[str]]:
    """Profile categories as rows: name, share, and their `cost` (µs per call or per push)."""
    return [
        [c["name"], f"{c['share'] * 100:.1f}%", _num(c[cost])]
        for c in categories
        if c["share"] >= at_least
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def throughput(results: dict[str, Any]) -> list[str]:
    data = results.get("throughput")
    if not data:
        return []
    rounds = results["meta"].get("rounds")
    lines = [
        "## RPC throughput and latency",
        "",
        "Calls/s is the median over the rounds; x floor is the median of the per-round ratios "
        "to the floor measured minutes apart in the same round; p50/p99 pool every round's "
        "calls. CPU µs/call is from /proc (user+system) over the whole cell: the server is the "
        "daemon or the proxy, the client is the load-client process.",
        "",
    ]
    if rounds:
        lines[-2] += f" Rounds: {rounds}."
    header = [
        "call",
        "clients",
        "target",
        "calls/s",
        "x floor",
        "p50 ms",
        "p99 ms",
        "server CPU µs/call",
        "client CPU µs/call",
        "errors",
    ]
    rows = []
    for cell in data["cells"]:
        rows.append(
            [
                cell["op"],
                str(cell["clients"]),
                cell["target"],
                _num(cell["calls_s"]),
                _ratio(cell["vs_floor"]),
                _num(cell["p50_ms"], 2),
                _num(cell["p99_ms"], 2),
                _num(cell["server_cpu_us_per_call"]),
                _num(cell["client_cpu_us_per_call"]),
                str(cell["errors"]) + (f" ({cell['error']})" if cell.get("error") else ""),
            ]
        )
    lines += _table(header, rows)
    lines += ["### Ratios (issue 5 item 5)", ""]
    rows = [
        [r["name"], _ratio(r["value"]), _spread(r["rounds"]), r["goal"]] for r in data["ratios"]
    ]
    lines += _table(["ratio", "this run", "rounds (min-max)", "target"], rows)
    cpu = {(c["op"], c["clients"], c["target"]): c["server_cpu_us_per_call"] for c in data["cells"]}

    def cpu_ratio(clients: int, num: str, den: str) -> str:
        a, b = cpu.get(("get_status", clients, num)), cpu.get(("get_status", clients, den))
        return _ratio(a / b) if a is not None and b else "n/a"

    lines += [
        "Daemon CPU per call is steadier than calls/s when other processes load the machine: "
        "mastod / minimal proxy, get_status, Unix x16 "
        f"{cpu_ratio(16, 'mastod unix', 'minimal proxy unix')}, HTTP x16 "
        f"{cpu_ratio(16, 'mastod http', 'minimal proxy http')}, Unix x1 "
        f"{cpu_ratio(1, 'mastod unix', 'minimal proxy unix')} (1.00x: no overhead of its own).",
        "",
        "### Logging cost",
        "",
    ]
    pairs = {
        "get_status, Unix, 1 client": (1, "mastod unix"),
        "get_status, Unix, 16 clients": (16, "mastod unix"),
        "get_status, HTTP, 16 clients": (16, "mastod http"),
    }
    rows = []
    for r in data["logging"]:
        clients, target = next(v for k, v in pairs.items() if r["name"].startswith(k))
        rows.append(
            [
                r["name"],
                _ratio(r["value"]),
                _spread(r["rounds"]),
                cpu_ratio(clients, f"{target}, log info", target),
            ]
        )
    header = ["calls/s ratio", "this run", "rounds (min-max)", "daemon CPU/call, info / warning"]
    lines += _table(header, rows)
    other = [c["other_load_cores"] for c in data["cells"] if c.get("other_load_cores") is not None]
    if other:
        lines += [
            f"Other processes on the machine used up to {max(other):.2f} cores during a cell "
            "(0 = the benchmark had the machine to itself)."
            + (
                " That is a noisy run: read the CPU columns, or run again on a quiet machine."
                if max(other) > 0.3
                else ""
            ),
            "",
        ]
    return lines


def footprint(results: dict[str, Any]) -> list[str]:
    start = results.get("start")
    if not start:
        return []
    shots = {s["name"]: s for s in results.get("oneshot", [])}
    mpy = shots.get("Mastodon.py one-shot status_post", {}).get("median_ms")
    interp = shots.get("python -c pass (interpreter start)", {}).get("median_ms")
    unix1 = next(
        (
            c["p50_ms"]
            for c in results.get("throughput", {}).get("cells", [])
            if c["op"] == "get_status" and c["clients"] == 1 and c["target"] == "mastod unix"
        ),
        None,
    )

    def ratio(a: float | None, b: float | None) -> str:
        return _ratio(a / b) if a is not None and b else "-"

    base_rss = start.get("baseline_rss_mib")
    base_start = start.get("baseline_import_aiohttp_s")
    rows = [
        [
            "idle RSS (VmRSS, MiB)",
            _num(start.get("idle_rss_median_mib"), 1),
            f"minimal aiohttp server (the upstream): {_num(base_rss, 1)}",
            ratio(start.get("idle_rss_median_mib"), base_rss),
            "≤ 50 MiB",
        ],
        [
            "RSS after the load (VmRSS / VmHWM, MiB)",
            f"{_num(start.get('rss_after_load_mib'), 1)} / {_num(start.get('peak_rss_mib'), 1)}",
            f"minimal proxy, idle: {_num(start.get('proxy_idle_rss_mib'), 1)}",
            "",
            "",
        ],
        [
            "start → READY=1 (s)",
            _num(start.get("ready_median_s"), 3),
            f"`python -c 'import asyncio, aiohttp.web'`: {_num(base_start, 3)}",
            ratio(start.get("ready_median_s"), base_start),
            "≤ 1 s",
        ],
        [
            "start → READY=1, no bytecode cache (this checkout as is)",
            _num(start.get("ready_as_is_s"), 3),
            "",
            ratio(start.get("ready_as_is_s"), base_start),
            "",
        ],
    ]
    for name, shot in shots.items():
        target = ""
        if name.startswith("socat"):
            target = "≤ 10 ms"
            baseline = f"warm Unix call p50: {_num(unix1, 2)} ms; Mastodon.py one-shot"
            vs = mpy
        elif name.startswith("mastod call"):
            target = "≤ 120 ms" if "no bytecode" not in name else ""
            baseline = f"`python -c pass`: {_num(interp, 1)} ms; Mastodon.py one-shot"
            vs = mpy
        else:
            baseline, vs = "`python -c pass`", interp
        value = _num(shot["median_ms"], 1) + f" (n={shot['n']})"
        if shot.get("error"):
            value += f" — failed: {shot['error'][:120]}"
        rows.append(
            [
                f"one-shot: {name} (ms, median)",
                value,
                baseline,
                ratio(shot["median_ms"], vs),
                target,
            ]
        )
    lines = [
        "## Footprint, start and one-shot calls",
        "",
        "Ratios are against the baseline named in the same row, measured in this run. "
        "Targets are the issue's, for reading only: nothing here passes or fails.",
        "",
    ]
    lines += _table(["measure", "value", "baseline (same run)", "ratio", "target"], rows)
    for imp in results.get("imports", []):
        top = ", ".join(f"{t['package']} {t['ms']:.0f}" for t in imp["top"])
        lines.append(
            f"- `import {imp['module']}`: {imp['total_ms']:.0f} ms of imports "
            f"(self time by package, ms: {top})"
        )
    steps = results.get("import_footprint") or []
    if steps:
        parts = [
            f"{s['step']} +{s['mib']:.1f} MiB/{s['ms']:.0f} ms"
            for s in steps[1:]
            if s.get("mib") is not None
        ]
        lines.append(
            f"- What each import adds, in the daemon's order (RSS/time): python "
            f"{steps[0]['mib']:.1f} MiB, " + ", ".join(parts)
        )
    return [*lines, ""]


def profiles(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for prof in results.get("profiles", []):
        if "skipped" in prof:
            lines += [f"Profile skipped: {prof['skipped']}", ""]
            continue
        lines += [
            f"## Profile: daemon under 16 clients of get_status over {prof['transport']} "
            f"(py-spy, {prof['samples']} samples)",
            "",
            f"Daemon CPU per call during the profile: {_num(prof['cpu_us_per_call'])} µs "
            f"({_num(prof.get('calls_s_while_profiled'))} calls/s while sampled).",
            "",
        ]
        rows = _shares(prof["categories"], "us_per_call", at_least=0.005)
        lines += _table(["where the daemon's CPU goes", "share", "µs/call"], rows)
        rows = [[f"`{f['frame']}`", f"{f['share'] * 100:.1f}%"] for f in prof["top_self"][:10]]
        lines += _table(["top self frames", "share"], rows)
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.report [latest.json]`: render a results file again (to stdout)."""
    import json
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).parent / "results" / "latest.json"
    print(render(json.loads(path.read_text()), extra={"push": push_markdown}), end="")
    return 0


def render(results: dict[str, Any], extra: dict[str, Renderer] | None = None) -> str:
    meta = results["meta"]
    lines = [
        f"# mastod benchmark — {meta['date']} ({meta['mode']} run)",
        "",
        f"Machine: {meta['machine']}; Python {meta['python']}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
        + f"; mastod at {meta['git']}"
        + (
            f" with {len(meta['uncommitted_mastod_files'])} uncommitted files in mastod/"
            if meta.get("uncommitted_mastod_files")
            else ""
        )
        + f". Load average before/after: {' '.join(meta['loadavg_before'])} / "
        + f"{' '.join(meta.get('loadavg_after', []))}. Run took {meta.get('duration_s', 0):.0f} s.",
        "",
        "Everything ran on 127.0.0.1: a local upstream answering Mastodon JSON (a 3.3 KB "
        "Status; a 20-status home timeline of 67 KB), the daemon (`python -m mastod serve`, "
        "log.level warning unless said), a minimal aiohttp JSON-RPC proxy for reference, and "
        "the load clients in a process of their own.",
        "",
    ]
    lines += throughput(results)
    lines += footprint(results)
    lines += profiles(results)
    for name, renderer in (extra or {}).items():
        if name in results:
            lines += renderer(results[name])
    if meta.get("daemon_warnings"):
        lines += ["## The daemon logged at warning level", "", "```"]
        lines += meta["daemon_warnings"]
        lines += ["```", ""]
    return "\n".join(lines)


def push_markdown(result: dict[str, Any]) -> list[str]:
    """The push suite (bench.push): pipeline rows, the floors beside them, targets."""
    rows = result.get("rows") or []
    if not rows:
        return []
    floor = {r["subscribers"]: r for r in result.get("fanout_floor", [])}
    pipeline = {r["subscribers"]: r for r in result.get("pipeline_floor", [])}
    lines = [
        "## Push pipeline (issue 5 items 3 and 4)",
        "",
        "Encrypted Web Push (pywebpush + py_vapid, half aes128gcm, half aesgcm, a new VAPID JWT "
        "each) POSTed to the daemon's webhook -> verified, decrypted, the notification fetched "
        "(`GET /api/v1/notifications?min_id=`), stored, fanned out to Unix-socket subscribers. "
        "Notifications are 1.2 KB (follow) and 4.6 KB (mention, favourite, reblog: with the "
        "status). *burst*: pushes sent as fast as 16 POSTs in flight allow, pushes/s = pushes / "
        "(first POST -> last delivery to the last subscriber). *steady*: 100 pushes/s. Latency "
        "= webhook POST -> receipt by a subscriber, over every delivery. CPU µs per push from "
        "/proc for each process. *fan-out floor*: the same subscribers and frames from "
        "bench.fanout, a process that only writes each frame to each socket, each run right "
        "after the daemon's run it stands beside. *minimal pipeline*: bench.pushproxy, the "
        "same work on the daemon's stack (aiohttp webhook, ES256 verify, http_ece, catch-up "
        "GET, SQLite, fan-out) and nothing else, fed the same pushes by an instance of its own.",
        "",
    ]
    header = [
        "subscribers",
        "mode",
        "pushes/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "delivered (missing/dup/order/dropped)",
        "GETs",
        "CPU µs/push: daemon / sender / subscribers",
        "fan-out floor: pushes/s, p50 / p99 ms",
        "minimal pipeline: CPU µs/push, p50 / p99 ms",
    ]
    table = []
    for row in rows:
        for mode in ("burst", "steady"):
            cell = row[mode]
            cpu = cell.get("cpu_us_per_push", {})
            ref = floor.get(row["subscribers"], {}).get(mode)
            least = pipeline.get(row["subscribers"], {}).get(mode)
            flags = "/".join(
                str(cell[k]) for k in ("missing", "duplicates", "out_of_order", "dropped")
            )
            table.append(
                [
                    str(row["subscribers"]),
                    mode,
                    _num(cell["pushes_s"]),
                    _num(cell["p50_ms"], 1),
                    _num(cell["p99_ms"], 1),
                    _num(cell["max_ms"], 1),
                    f"{cell['deliveries']:,} ({flags})",
                    str(cell.get("notification_gets", "")),
                    " / ".join(_num(cpu.get(k)) for k in ("daemon", "sender", "subscribers")),
                    (
                        f"{_num(ref['pushes_s'])}, {_num(ref['p50_ms'], 1)} / "
                        f"{_num(ref['p99_ms'], 1)}"
                        if ref
                        else "n/a"
                    ),
                    (
                        f"{_num(least['cpu_us_per_push'].get('pipeline'))}, "
                        f"{_num(least['p50_ms'], 1)} / {_num(least['p99_ms'], 1)}"
                        if least
                        else "n/a"
                    ),
                ]
            )
    lines += _table(header, table)
    by_count = {r["subscribers"]: r for r in rows}
    targets = []
    hundred = by_count.get(100)
    if hundred:
        rate = hundred["burst"]["pushes_s"]
        ref = floor.get(100, {}).get("burst", {}).get("pushes_s")
        cpu = hundred["burst"]["cpu_us_per_push"].get("daemon")
        least = pipeline.get(100, {}).get("burst", {})
        least_cpu = least.get("cpu_us_per_push", {}).get("pipeline")
        targets.append(
            [
                "pushes/s sustained, 100 subscribers (daemon CPU µs/push)",
                f"{_num(rate)} ({_num(cpu)})",
                ">= 1,000 (<= 600)",
                f"webhook floor {_num(result['floor']['pushes_s'])}/s; fan-out floor {_num(ref)}/s"
                f"; minimal pipeline {_num(least.get('pushes_s'))}/s ({_num(least_cpu)})",
            ]
        )
        if cpu and least_cpu:
            targets.append(
                [
                    "daemon CPU per push / the minimal pipeline's, that burst",
                    f"{cpu / least_cpu:.2f}",
                    "-",
                    f"minimal pipeline {_num(least_cpu)} µs/push, measured beside it",
                ]
            )
    thousand = by_count.get(1000)
    if thousand:
        ref = floor.get(1000, {}).get("steady", {}).get("p99_ms")
        least_p99 = pipeline.get(1000, {}).get("steady", {}).get("p99_ms")
        p99 = thousand["steady"]["p99_ms"]
        ratio = f" (x{p99 / ref:.2f})" if p99 and ref else ""
        least_ratio = f" (daemon x{p99 / least_p99:.2f})" if p99 and least_p99 else ""
        targets.append(
            [
                "p99 ms at 100 pushes/s, 1,000 subscribers",
                _num(p99, 1) + ratio,
                "<= 20; <= 1.5x the fan-out floor's",
                f"fan-out floor p99 {_num(ref, 1)} ms, measured beside it; minimal pipeline "
                f"p99 {_num(least_p99, 1)} ms{least_ratio}",
            ]
        )
        targets.append(
            [
                "RSS MiB with 1,000 subscribers (peak)",
                f"{_num(thousand['rss_mib'], 1)} ({_num(result.get('peak_rss_mib'), 1)})",
                "<= 100",
                f"push daemon idle {_num(result.get('idle_rss_mib'), 1)} MiB",
            ]
        )
        one = by_count.get(1)
        if one:
            d1 = one["steady"]["cpu_us_per_push"]["daemon"]
            dk = thousand["steady"]["cpu_us_per_push"]["daemon"]
            per = (dk - d1) / 999
            f1 = floor.get(1, {}).get("steady", {}).get("cpu_us_per_push", {}).get("fanout")
            fk = floor.get(1000, {}).get("steady", {}).get("cpu_us_per_push", {}).get("fanout")
            ref_per = (fk - f1) / 999 if f1 is not None and fk is not None else None
            targets.append(
                [
                    "daemon CPU µs per extra delivery (1 -> 1,000 subscribers)",
                    _num(per, 1),
                    "serialised once",
                    f"fan-out floor {_num(ref_per, 1)} µs; one JSON encode of a 4.6 KB "
                    "notification ~34 µs",
                ]
            )
    lines += _table(["target", "this run", "goal", "baseline, same run"], targets)
    pushes = result.get("pushes")
    if pushes:
        lines += [
            f"The daemon's `status` after the run: {pushes.get('accepted', 0):,} pushes "
            f"accepted (verified and decrypted), {pushes.get('rejected', 0):,} rejected.",
            "",
        ]
    spied = result.get("profile")
    if spied and spied.get("categories"):
        lines += [
            "### Where a push's CPU goes (py-spy, burst to 100 subscribers)",
            "",
            f"Daemon CPU per push while sampled: {_num(spied['cpu_us_per_push'])} µs "
            f"({spied['samples']:,} samples).",
            "",
        ]
        lines += _table(["place", "share", "µs/push"], _shares(spied["categories"], "us_per_push"))
    elif spied:
        lines += [f"Push profile skipped: {spied.get('skipped')}", ""]
    if result.get("daemon_warnings"):
        lines += ["Daemon warnings during the push run:", ""]
        lines += [f"    {line}" for line in result["daemon_warnings"]] + [""]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
