"""Every process the harness starts goes through `Processes`, which stops it by its PID
(SIGTERM, then SIGKILL after a grace period) — also when the run fails half-way.

`/proc` readers: resident memory and CPU time of a PID we started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Processes:
    """The processes of one run, stopped in reverse start order."""

    running: list[tuple[str, subprocess.Popen[Any]]] = field(default_factory=list)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
        text: bool = False,
    ) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            text=text,
        )
        self.running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[Any], grace: float = 5.0) -> int:
        """SIGTERM `proc` (ours, by PID), SIGKILL it if it outlives `grace`; its exit code."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.running = [(n, p) for n, p in self.running if p is not proc]
        return proc.returncode

    def stop_all(self) -> None:
        for _, proc in reversed(list(self.running)):
            self.stop(proc)

    @contextlib.contextmanager
    def scope(self) -> Iterator[Processes]:
        try:
            yield self
        finally:
            self.stop_all()


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(f"{key} not in /proc/{pid}/status")


def rss_mib(pid: int) -> float:
    """Resident set size now (VmRSS)."""
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int) -> float:
    """Highest resident set size so far (VmHWM)."""
    return _status_kib(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used by `pid` so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # after "pid (comm) ": state is fields[0]; utime and stime are fields 11 and 12
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def wall_times(argv: Sequence[str], reps: int, **kwargs: Any) -> list[float]:
    """Wall time of `reps` runs of `argv` (each must exit 0), in seconds."""
    times: list[float] = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(list(argv), check=True, timeout=60, **kwargs)
        times.append(time.perf_counter() - started)
    return times
