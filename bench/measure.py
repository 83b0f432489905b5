"""Timing processes: wall time of one or several processes run at once, their exit codes, peak RSS
(measured by GNU time), and the statistics the report shows."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One timed step: wall seconds, the largest peak RSS among its processes (0 when not measured),
    their exit codes."""

    seconds: float
    peak_rss_kib: int
    exit_codes: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return all(code == 0 for code in self.exit_codes)


def gnu_time() -> str:
    """GNU time, which measures a child's peak RSS from a small process.

    Not getrusage/wait4 from Python: a child's ru_maxrss includes the high-water mark of the memory
    it had before exec, which after Python's fork or vfork is Python's own (15 MiB and more).
    """
    path = shutil.which("time")
    if path is None:
        raise FileNotFoundError("GNU time is missing (Debian: apt-get install time); `make bench` installs it")
    return path


def run_processes(
    commands: list[list[str]], logs: list[Path], cwd: Path | None = None, env: dict | None = None, rss: bool = False
) -> Run:
    """Starts every command at once, each writing stdout and stderr to its log, and waits for all.
    With `rss`, measures each one's peak RSS."""
    rss_files = [log.with_suffix(".rss") for log in logs]
    if rss:
        time_bin = gnu_time()
        commands = [[time_bin, "-f", "%M", "-o", str(f), *argv] for argv, f in zip(commands, rss_files)]
    handles = [log.open("wb") for log in logs]
    try:
        started = time.perf_counter()
        processes = [
            subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
            for argv, out in zip(commands, handles)
        ]
        codes = tuple(process.wait() for process in processes)
        seconds = time.perf_counter() - started
    finally:
        for handle in handles:
            handle.close()
    # GNU time writes "Command exited with non-zero status N" before the figure when the child failed.
    peak = max(int(f.read_text().split()[-1]) for f in rss_files) if rss and all(c == 0 for c in codes) else 0
    return Run(seconds, peak, codes)


@dataclass
class Series:
    """The repetitions of one case."""

    name: str
    tenants: int
    runs: list[Run] = field(default_factory=list)
    # Whether RSS is the tool's own (tenantctl) rather than psql's.
    tool: bool = True

    @property
    def seconds(self) -> list[float]:
        return [r.seconds for r in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)

    @property
    def ms_per_tenant(self) -> float:
        return 1000 * self.median / self.tenants

    @property
    def peak_rss_mib(self) -> float:
        return max(r.peak_rss_kib for r in self.runs) / 1024

    def as_json(self, limit: "Series | None") -> dict:
        return {
            "case": self.name,
            "tenants": self.tenants,
            "seconds": [round(s, 4) for s in self.seconds],
            "median_s": round(self.median, 4),
            "min_s": round(self.low, 4),
            "max_s": round(self.high, 4),
            "ms_per_tenant": round(self.ms_per_tenant, 4),
            "ratio_to_limit": round(self.median / limit.median, 3) if limit else None,
            "peak_rss_mib": [round(r.peak_rss_kib / 1024, 1) for r in self.runs],
            "rss_of": "tenantctl" if self.tool else "psql",
        }
