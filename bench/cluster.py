"""A throwaway PostgreSQL for the benchmark, started and stopped with scripts/pg.sh, and the psql
calls the benchmark makes against it (outside every timed step)."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path


class BenchError(Exception):
    """The benchmark cannot go on: a command failed or a check did not hold."""


class Cluster:
    """A PostgreSQL cluster in `directory`, on 127.0.0.1, with its superuser's URL."""

    def __init__(self, pg_sh: Path, directory: Path):
        self._pg_sh = pg_sh
        self._directory = directory
        self._url: str | None = None

    def start(self) -> None:
        # --watch: should this process die without running `stop`, pg.sh's watchdog still
        # stops the cluster and deletes its directory.
        argv = [str(self._pg_sh), "start", str(self._directory), "--watch", str(os.getpid())]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"scripts/pg.sh start failed:\n{done.stderr.strip()}")
        self._url = done.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        subprocess.run([str(self._pg_sh), "stop", str(self._directory)], check=False)
        self._url = None

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url("postgres")).port

    def url(self, database: str, port: int | None = None) -> str:
        """The URL of `database`, through `port` instead of the server's when given."""
        if self._url is None:
            raise BenchError("the cluster is not running")
        parts = urllib.parse.urlsplit(self._url)
        netloc = parts.netloc
        if port is not None:
            netloc = f"{netloc.rsplit(':', 1)[0]}:{port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc, path="/" + database))

    def psql(self, database: str, *, sql: str | None = None, file: Path | None = None) -> str:
        """Runs SQL (a command or a file) and returns the unaligned, tab-separated output."""
        argv = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", self.url(database)]
        argv += ["-c", sql] if sql is not None else ["-f", str(file)]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            what = sql if sql is not None else str(file)
            raise BenchError(f"psql failed on {database}: {done.stderr.strip()}\n  running: {what[:300]}")
        return done.stdout.strip()

    def row(self, database: str, sql: str) -> list[str]:
        """The one row `sql` returns."""
        return self.psql(database, sql=sql).split("\t")

    def create_database(self, name: str, template: str | None = None) -> None:
        """An empty database, or a file-level copy of `template` (fast, whatever its size)."""
        copy = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.psql("postgres", sql=f"CREATE DATABASE {name}{copy}")

    def drop_database(self, name: str) -> None:
        self.psql("postgres", sql=f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def checkpoint(self) -> None:
        """Flushes what earlier steps wrote, so that no step pays for its predecessor's writes."""
        self.psql("postgres", sql="CHECKPOINT")

    def server_version(self) -> str:
        return self.psql("postgres", sql="SHOW server_version")
