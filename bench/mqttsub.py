"""An MQTT subscriber for the MQTT bench suite, in a process of its own
(`python -m bench.mqttsub`): one aiomqtt client subscribed (QoS 1) to the bridge's
notification topics, timestamping each message on receipt (CLOCK_MONOTONIC, comparable with
the push sender's `t0`).

Commands, one JSON line each on stdin, one JSON answer line on stdout:

    {"op": "connect", "host": h, "port": p, "topic": t}  -> {"subscribed": t}
    {"op": "collect", "t0": {"<id>": ns}, "timeout": s}   -> as bench.subscribers' collect
    {"op": "close"}                                        -> {"closed": 1}

Receipts are checked by the same code as the Unix-socket subscribers' (missing, duplicated,
out of order), through `bench.subscribers.Subscribers.collect`.
"""

from __future__ import annotations

import asyncio
import json
from array import array
from typing import Any

import aiomqtt

from bench.commands import Command, serve_commands
from bench.subscribers import Subscribers, now_ns


class Receipts:
    """What `Subscribers.collect` reads of a subscriber."""

    def __init__(self) -> None:
        self.ids: array[int] = array("q")
        self.times: array[int] = array("q")
        self.dropped = 0
        self.bad = 0


async def receive(client: aiomqtt.Client, receipts: Receipts) -> None:
    async for message in client.messages:
        received = now_ns()
        try:
            receipts.ids.append(int(json.loads(message.payload)["id"]))
        except (ValueError, KeyError, TypeError):
            receipts.bad += 1
            continue
        receipts.times.append(received)


async def commands() -> None:
    subs = Subscribers()
    running: list[tuple[aiomqtt.Client, asyncio.Task[None]]] = []

    async def connect(cmd: Command) -> dict[str, Any]:
        client = aiomqtt.Client(cmd["host"], int(cmd["port"]), timeout=30)
        await client.__aenter__()
        await client.subscribe(cmd["topic"], qos=1)
        receipts = Receipts()
        subs.subs.append(receipts)  # type: ignore[arg-type]  # collect reads only these fields
        running.append((client, asyncio.create_task(receive(client, receipts))))
        return {"subscribed": cmd["topic"]}

    async def collect(cmd: Command) -> dict[str, Any]:
        return await subs.collect(cmd["t0"], float(cmd.get("timeout", 60)))

    async def close(cmd: Command) -> dict[str, Any]:
        for client, task in running:
            task.cancel()
            await client.__aexit__(None, None, None)
        count, subs.subs = len(running), []
        running.clear()
        return {"closed": count}

    await serve_commands({"connect": connect, "collect": collect, "close": close})


def main() -> int:
    asyncio.run(commands())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
