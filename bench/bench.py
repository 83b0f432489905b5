#!/usr/bin/env python3
"""`make bench`: tenantctl against the raw-SQL limit, on a throwaway PostgreSQL.

For N seeded tenants it times, interleaved and repeated, on a fresh database each time:
`tenantctl migrate-tenants` applying three migrations to every tenant; the same work as
pre-generated psql scripts with 1 and with 4 parallel streams (the faster is "the limit"); a no-op
`migrate-tenants` and `status` over the up-to-date tenants; `provision-tenant --from-file` of new
orgs against its own psql baseline; `migrate-tenants` over the same N tenants spread over 2
servers (shards) against 4 psql streams per server; and a sweep of `--concurrency`. Every migrating
step is verified afterwards. It prints the tables, writes every figure as JSON to
bench/results/<UTC time>.json and the tables as Markdown to bench/results/latest.md.
See bench/README.md. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

sys.dont_write_bytecode = True  # no __pycache__ beside the sources of a one-shot script
import fixtures  # noqa: E402
import report  # noqa: E402
from cluster import BenchError, Cluster  # noqa: E402
from measure import Run, Series, gnu_time, run_processes  # noqa: E402
from wire import RoundTripCounter  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SWEEP_LEVELS = (1, 2, 4, 8, 16)
CIC_LEVELS = (1, 2, 4, 8)
RAW_STREAMS = (1, 4)
# The multi-shard case: `default` (the control database, on the first server) and `s2` (the second
# server) each hold half the tenants; the raw baseline runs this many psql streams per server.
SHARDS = ("default", "s2")
SHARD_STREAMS = 4
# The environment of tenantctl runs: none of the variables that would change its settings.
TENANTCTL_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("TENANTCTL_", "DB_", "DATABASE_URL", "RUST_LOG"))
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=2000, help="N, the seeded tenants (default 2000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each timed step (default 3)")
    parser.add_argument("--sweep", type=int, choices=(0, 1), default=1, help="0 skips the --concurrency sweep")
    parser.add_argument("--provision", type=int, default=1000, help="orgs provisioned in bulk (default 1000)")
    parser.add_argument(
        "--count-tenants", type=int, default=200, help="tenants of the untimed round-trip count (default 200)"
    )
    parser.add_argument(
        "--tenantctl", type=Path, default=REPO / "target" / "release" / "tenantctl", help="the binary"
    )
    parser.add_argument("--results", type=Path, default=BENCH / "results", help="where results go")
    parser.add_argument(
        "--cic-tenants", type=int, default=500, help="tenants of the concurrent-index fan-out (default 500)"
    )
    parser.add_argument("--lint-files", type=int, default=1000, help="files of the lint case (default 1000)")
    parser.add_argument(
        "--shards", type=int, choices=(0, 1), default=1, help="0 skips the case of N tenants over 2 servers"
    )
    args = parser.parse_args()
    counts = (args.tenants, args.reps, args.provision, args.count_tenants, args.cic_tenants, args.lint_files)
    if min(counts) < 1:
        parser.error("--tenants, --reps, --provision, --count-tenants, --cic-tenants and --lint-files must be at least 1")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rotated(items: list, by: int) -> list:
    """`items` starting at a different one each repetition, so that no case always runs first."""
    by %= len(items)
    return items[by:] + items[:by]


@dataclass
class Results:
    """Every timed series; "the limit" of each comparison is its fastest raw psql baseline."""

    migrate: list[Series]
    migrate_limit: Series
    up_to_date: list[Series]
    provision: list[Series]
    provision_limit: Series
    sweep: list[Series]
    pending: int
    cic: list[Series]
    lint: Series
    # N tenants over 2 servers (empty with --shards 0) and their raw baseline.
    shards: list[Series]
    shards_limit: Series | None


class Bench:
    """The cases, each run on a fresh database of the cluster."""

    def __init__(
        self, args: argparse.Namespace, cluster: Cluster, work: Path, default: int | None, second: Cluster | None
    ):
        self.args = args
        self.default = default
        self.cluster = cluster
        # The second server of the multi-shard case (None with --shards 0): shard `s2`.
        self.second = second
        self.work = work
        self.n = args.tenants
        self.migrations = fixtures.load_migrations(BENCH / "tenant_migrations")
        self.baseline, self.pending = self.migrations[:1], self.migrations[1:]
        self.master_dir = work / "master_migrations"
        self.master_dir.mkdir()
        (work / "logs").mkdir()
        self._scripts = work / "scripts"
        self._scripts.mkdir()
        self._templates: dict[int, str] = {}
        self._shard_templates: list[str] = []
        self._cic_seeded = False
        self._serial = itertools.count(1)
        self.raw_migrate = {k: self._raw_migrate_scripts(k) for k in RAW_STREAMS}
        self.spread = fixtures.spread(fixtures.tenants(self.n), list(SHARDS))
        self.raw_shards = self._raw_shard_scripts() if second else None
        self.new_orgs = fixtures.tenants(args.provision, prefix="new")
        self.org_file = self._write("new_orgs.txt", "".join(t.org_id + "\n" for t in self.new_orgs))
        self.raw_provision = {k: self._raw_provision_scripts(self.new_orgs, k) for k in RAW_STREAMS}
        self.cic_dir = work / "cic_migrations"
        shutil.copytree(BENCH / "tenant_migrations", self.cic_dir)
        (self.cic_dir / fixtures.CIC_MIGRATION[0]).write_text(fixtures.CIC_MIGRATION[1])
        self.lint_dir = work / "lint_migrations"
        fixtures.write_lint_files(self.lint_dir, args.lint_files)

    # --- scripts -----------------------------------------------------------------------------

    def _write(self, name: str, text: str) -> Path:
        path = self._scripts / name
        path.write_text(text)
        return path

    def _write_streams(self, name: str, statements: list[str], streams: int, preamble: str) -> list[Path]:
        texts = fixtures.stream_scripts(statements, streams, preamble)
        return [self._write(f"{name}_{streams}_{i}.sql", text) for i, text in enumerate(texts)]

    def _migrate_transactions(self, tenants: list[fixtures.Tenant], registry: bool = True) -> list[str]:
        batch = 2  # the seeded baseline is batch 1
        return [
            fixtures.migrate_transaction(t, self.pending, len(self.baseline), batch, registry) for t in tenants
        ]

    def _raw_migrate_scripts(self, streams: int) -> list[Path]:
        transactions = self._migrate_transactions(fixtures.tenants(self.n))
        return self._write_streams("migrate", transactions, streams, fixtures.central_insert(self.pending))

    def _raw_shard_scripts(self) -> tuple[list[Path], list[Path], list[Path]]:
        """The raw baseline over 2 servers: the same transactions as the single-server scripts, each on
        its tenant's server, `SHARD_STREAMS` streams per server. A `default` tenant's transaction
        updates the registry as on one server; an `s2` tenant's runs on the second server without it,
        and a script of the control database updates the mirror of that stream's tenants after it.
        Returns the control database's scripts, the second server's, and their mirror updates."""
        central = fixtures.central_insert(self.pending)
        local = [t for t in self.spread if t.shard == SHARDS[0]]
        remote = [t for t in self.spread if t.shard == SHARDS[1]]
        applied = len(self.baseline)
        mirrors = [fixtures.registry_update(t, self.pending, applied) for t in remote]
        return (
            self._write_streams("shards_control", self._migrate_transactions(local), SHARD_STREAMS, central),
            self._write_streams("shards_second", self._migrate_transactions(remote, False), SHARD_STREAMS, ""),
            self._write_streams("shards_mirror", mirrors, SHARD_STREAMS, central),
        )

    def _raw_provision_scripts(self, orgs: list[fixtures.Tenant], streams: int) -> list[Path]:
        transactions = [fixtures.provision_transaction(t, self.migrations) for t in orgs]
        return self._write_streams(
            f"provision_{len(orgs)}", transactions, streams, fixtures.central_insert(self.migrations)
        )

    # --- processes -----------------------------------------------------------------------------

    def tenantctl(
        self, database: str, *args: str, port: int | None = None, tenant_dir: Path = BENCH / "tenant_migrations",
        shards: bool = False,
    ) -> Run:  # fmt: skip
        """Runs tenantctl with its defaults (in the work directory, so no tenantctl.toml or .env is read;
        without TENANTCTL_* and DB_* variables) and requires exit 0. With `shards`, with a `--config`
        listing the 2 servers' `database` as shards."""
        url = self.cluster.url(database, port)
        if port is not None:
            url += "?sslmode=disable"  # the round-trip counter reads the protocol in the clear
        argv = [
            str(self.args.tenantctl), *args, "--database-url", url,
            "--tenant-dir", str(tenant_dir), "--master-dir", str(self.master_dir),
        ]  # fmt: skip
        if shards:
            argv += ["--config", str(self._shard_config(database))]
        return self._tenantctl_run(argv, f"{database}-{args[0]}")

    def _tenantctl_run(self, argv: list[str], label: str) -> Run:
        """Runs tenantctl (argv) in the work directory, so no tenantctl.toml or .env is read; requires exit 0."""
        log_file = self.work / "logs" / f"{label}.log"
        run = run_processes([argv], [log_file], cwd=self.work, env=TENANTCTL_ENV, rss=True)
        if not run.ok:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
            raise BenchError(f"{' '.join(argv[1:2])} ({label}) exited {run.exit_codes[0]}:\n{tail}")
        return run

    def _shard_config(self, database: str) -> Path:
        """A tenantctl.toml listing `default` (the control database) and `s2` (`database` on the second
        server) as shards."""
        second = self.second.url(database)
        return self._write(f"shards_{database}.toml", f'[shards.default]\n\n[shards.s2]\nurl = "{second}"\n')

    @staticmethod
    def _psql_argv(cluster: Cluster, database: str, script: Path) -> list[str]:
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.url(database), "-f", str(script)]

    def psql_streams(self, database: str, scripts: list[Path]) -> Run:
        """Runs the scripts at once, one psql each; requires every one to succeed."""
        return self.run_streams(database, [(self._psql_argv(self.cluster, database, s), s.stem) for s in scripts])

    def run_streams(self, database: str, commands: list[tuple[list[str], str]]) -> Run:
        """Runs the (argv, label) commands at once; requires every one to succeed."""
        logs = [self.work / "logs" / f"{database}-{label}.log" for _, label in commands]
        run = run_processes([argv for argv, _ in commands], logs)
        if not run.ok:
            failed = [str(lg) for lg, code in zip(logs, run.exit_codes) if code != 0]
            tail = "\n".join(Path(failed[0]).read_text(errors="replace").splitlines()[-10:])
            raise BenchError(f"raw psql on {database} failed ({', '.join(failed)}):\n{tail}")
        return run

    # --- databases -----------------------------------------------------------------------------

    def servers(self, shards: bool) -> list[Cluster]:
        """The servers of a case: the control database's, and the second one with `shards`."""
        return [self.cluster, self.second] if shards else [self.cluster]

    def fresh_database(self, tenants: int, shards: bool = False) -> str:
        """A new database with tenantctl's bootstrap tables and `tenants` seeded tenants: a file copy of
        a template seeded once with bulk SQL (seeding is the slow part: ~7 ms per tenant). With
        `shards`, the N tenants over 2 servers: a database of that name on each."""
        name = f"bench_{next(self._serial)}"
        templates = self._sharded_templates() if shards else [self._template(tenants)]
        for cluster, template in zip(self.servers(shards), templates):
            cluster.create_database(name, template=template)
        return name

    def _template(self, tenants: int) -> str:
        if tenants not in self._templates:
            name = f"bench_template_{tenants}"
            self.cluster.create_database(name)
            self.tenantctl(name, "migrate-master")
            if tenants:
                seed = fixtures.seed_script(fixtures.tenants(tenants), self.baseline)
                self.cluster.psql(name, file=self._write(f"seed_{tenants}.sql", seed))
            self._templates[tenants] = name
        return self._templates[tenants]

    def _sharded_templates(self) -> list[str]:
        """The templates of the N tenants over 2 servers (one name on both): on the control database
        the registry (every tenant, with its shard), the central record and the `default` tenants'
        schemas; on the second server the `s2` tenants' schemas, as provisioning lays them out.
        `migrate-master` runs with the shards configured, as it would in a deployment (tenantctl
        needs nothing in `public` on a shard to migrate its tenants; without shard master files it
        changes nothing there)."""
        if not self._shard_templates:
            name = "bench_template_shards"
            for cluster in self.servers(True):
                cluster.create_database(name)
            self.tenantctl(name, "migrate-master", shards=True)
            seeds = [fixtures.registry_script(self.spread, self.baseline), ""]
            for cluster, shard, seed in zip(self.servers(True), SHARDS, seeds):
                held = [t for t in self.spread if t.shard == shard]
                seed += fixtures.schemas_script(held, self.baseline)
                cluster.psql(name, file=self._write(f"seed_shards_{shard}.sql", seed))
            self._shard_templates = [name, name]
        return self._shard_templates

    def verify(self, database: str, tenants: int, shards: bool = False) -> None:
        """Every tenant has every migration: objects and tracking rows on its server, registry mirror
        and central record on the control database."""
        self._verify_registry(database, tenants)
        if not shards:
            self._verify_schemas(self.cluster, database, tenants)
            return
        for cluster, shard in zip(self.servers(True), SHARDS):
            self._verify_schemas(cluster, database, sum(t.shard == shard for t in self.spread))

    def _verify_registry(self, database: str, tenants: int) -> None:
        latest, count = self.migrations[-1].version, len(self.migrations)
        got = self.cluster.row(
            database,
            f"""SELECT count(*),
                  count(*) FILTER (WHERE status = 'ACTIVE' AND schema_version = {latest}
                                     AND migration_count = {count}),
                  (SELECT count(*) FROM public.tenantctl_tenant_migrations)
                FROM public.tenants""",
        )
        labels = ["tenants", "registry rows up to date", "central records"]
        self._check(database, got, labels, [tenants, tenants, count])

    def _verify_schemas(self, cluster: Cluster, database: str, tenants: int) -> None:
        """The tenant schemas of `database` on `cluster` (every `tid_` schema: each database holds only
        the bench's tenants) have the bench's migrations (bench/tenant_migrations) and their tracking rows."""
        count = len(self.migrations)
        got = cluster.row(
            database,
            f"""SELECT count(*),
                  count(*) FILTER (WHERE to_regclass(format('%I.items', schema_name)) IS NOT NULL),
                  count(*) FILTER (WHERE EXISTS (SELECT FROM pg_attribute
                                   WHERE attrelid = to_regclass(format('%I.items', schema_name))
                                     AND attname = 'price' AND NOT attisdropped)),
                  count(*) FILTER (WHERE to_regclass(format('%I.items_name_idx', schema_name)) IS NOT NULL),
                  coalesce(sum((xpath('/row/n/text()', query_to_xml(format(
                      'SELECT count(*) AS n FROM %I.tenantctl_migrations', schema_name), false, true, '')))[1]
                      ::text::bigint), 0)
                FROM (SELECT nspname AS schema_name FROM pg_namespace WHERE nspname LIKE 'tid\\_%') AS s""",
        )
        labels = ["tenant schemas", "items tables", "price columns", "indexes", "tracking rows"]
        self._check(f"{database} on port {cluster.port}", got, labels, [tenants] * 4 + [tenants * count])

    @staticmethod
    def _check(where: str, got: list[str], labels: list[str], expected: list[int]) -> None:
        wrong = [f"{l}: {g} (expected {e})" for l, g, e in zip(labels, got, expected) if int(g) != e]
        if wrong:
            raise BenchError(f"verification of {where} failed: " + "; ".join(wrong))

    # --- cases -----------------------------------------------------------------------------------

    def on_fresh_database(
        self, tenants: int, step: Callable[[str], Run], migrated: int, shards: bool = False
    ) -> Run:
        """Times `step` on a fresh database seeded with `tenants` (over 2 servers with `shards`), then
        checks that `migrated` tenants have every migration, and drops the database."""
        database = self.fresh_database(tenants, shards)
        servers = self.servers(shards)
        for cluster in servers:
            cluster.checkpoint()
        run = step(database)
        self.verify(database, migrated, shards)
        for cluster in servers:
            cluster.drop_database(database)
        return run

    def tenantctl_migrate(
        self, flags: list[str], then: Callable[[str], None] | None = None, shards: bool = False
    ) -> Run:
        """migrate-tenants over N tenants (over 2 servers with `shards`); `then` runs on the migrated
        database, after verification."""

        def step(database: str) -> Run:
            run = self.tenantctl(database, "migrate-tenants", *flags, shards=shards)
            if then:
                self.verify(database, self.n, shards)
                then(database)
            return run

        return self.on_fresh_database(self.n, step, migrated=self.n, shards=shards)

    def raw_migrate_case(self, streams: int) -> Run:
        return self.on_fresh_database(
            self.n, lambda db: self.psql_streams(db, self.raw_migrate[streams]), migrated=self.n
        )

    def raw_shards_case(self) -> Run:
        """The raw baseline over 2 servers: the control database's streams and the second server's at
        once, each of the latter followed by its mirror updates on the control database."""

        def step(database: str) -> Run:
            control, second, mirrors = self.raw_shards
            commands = [(self._psql_argv(self.cluster, database, s), s.stem) for s in control]
            for tenant_script, mirror_script in zip(second, mirrors):
                chain = (self._psql_argv(self.second, database, tenant_script),
                         self._psql_argv(self.cluster, database, mirror_script))  # fmt: skip
                shell = " && ".join(shlex.join(argv) for argv in chain)
                commands.append((["sh", "-c", shell], tenant_script.stem))
            return self.run_streams(database, commands)

        return self.on_fresh_database(self.n, step, migrated=self.n, shards=True)

    def tenantctl_provision(self) -> Run:
        def step(database: str) -> Run:
            return self.tenantctl(database, "provision-tenant", "--from-file", str(self.org_file))

        return self.on_fresh_database(0, step, migrated=len(self.new_orgs))

    def raw_provision_case(self, streams: int) -> Run:
        return self.on_fresh_database(
            0, lambda db: self.psql_streams(db, self.raw_provision[streams]), migrated=len(self.new_orgs)
        )

    def lint_case(self) -> Run:
        """`tenantctl lint` over the generated files (never connects)."""
        return self._tenantctl_run([str(self.args.tenantctl), "lint", str(self.lint_dir)], "lint")

    def _cic_template(self) -> str:
        """`--cic-tenants` tenants with the bench's migrations applied: where 0005 (a concurrent index)
        is pending."""
        name = "bench_template_cic"
        if not self._cic_seeded:
            self.cluster.create_database(name, template=self._template(self.args.cic_tenants))
            self.tenantctl(name, "migrate-tenants")
            self._cic_seeded = True
        return name

    def cic_case(self, level: int) -> Run:
        """The no-transaction `CREATE INDEX CONCURRENTLY` fan-out with `no_transaction_concurrency = level`."""
        database = f"bench_{next(self._serial)}"
        self.cluster.create_database(database, template=self._cic_template())
        config = self._write(f"cic_{level}.toml", f"no_transaction_concurrency = {level}\n")
        self.cluster.checkpoint()
        run = self.tenantctl(database, "migrate-tenants", "--config", str(config), tenant_dir=self.cic_dir)
        got = self.cluster.row(
            database,
            """SELECT count(*),
                  count(*) FILTER (WHERE EXISTS (SELECT FROM pg_index
                                   WHERE indexrelid = to_regclass(format('%I.items_created_at_idx', schema_name))
                                     AND indisvalid)),
                  count(*) FILTER (WHERE schema_version = 5 AND migration_count = 5 AND status = 'ACTIVE')
                FROM public.tenants""",
        )
        if any(int(g) != self.args.cic_tenants for g in got):
            raise BenchError(f"verification of {database} failed: tenants, valid indexes, registry rows = {got}")
        self.cluster.drop_database(database)
        return run

    def run_all(self) -> Results:
        """Every case, `reps` times, interleaved: each repetition runs each group's cases in turn,
        starting with a different case each time."""
        n, p = self.n, len(self.new_orgs)
        streams = lambda k: f"{k} stream{'s' if k > 1 else ''}"  # noqa: E731
        migrate = Series("tenantctl migrate-tenants", n)
        raw = {k: Series(f"raw psql, {streams(k)}", n, tool=False) for k in RAW_STREAMS}
        noop = Series("no-op migrate-tenants (all up to date)", n)
        status = Series("status", n)
        provision = Series(f"tenantctl provision-tenant --from-file ({p} orgs)", p)
        raw_provision = {k: Series(f"raw psql provisioning, {streams(k)}", p, tool=False) for k in RAW_STREAMS}
        # The default level's row is the main case (no flag): its runs, not a second measurement of it.
        sweep = {
            c: Series(f"--concurrency {c}", n, runs=migrate.runs if c == self.default else [])
            for c in SWEEP_LEVELS
        }

        def up_to_date(database: str) -> None:
            self.cluster.checkpoint()
            noop.runs.append(self.tenantctl(database, "migrate-tenants"))
            status.runs.append(self.tenantctl(database, "status"))

        shards = Series(f"tenantctl migrate-tenants, {len(SHARDS)} servers", n)
        raw_shards = Series(f"raw psql, {streams(SHARD_STREAMS)} per server", n, tool=False)
        groups = [
            [(migrate, partial(self.tenantctl_migrate, [], up_to_date))]
            + [(raw[k], partial(self.raw_migrate_case, k)) for k in RAW_STREAMS],
            [(provision, self.tenantctl_provision)]
            + [(raw_provision[k], partial(self.raw_provision_case, k)) for k in RAW_STREAMS],
        ]
        if self.second:
            groups.append(
                [(shards, partial(self.tenantctl_migrate, [], shards=True)), (raw_shards, self.raw_shards_case)]
            )
        if self.args.sweep:
            levels = [c for c in SWEEP_LEVELS if c != self.default]
            groups.append([(sweep[c], partial(self.tenantctl_migrate, ["--concurrency", str(c)])) for c in levels])
        cic = {
            k: Series(f"no_transaction_concurrency {k}", self.args.cic_tenants) for k in CIC_LEVELS
        }
        groups.append([(cic[k], partial(self.cic_case, k)) for k in CIC_LEVELS])
        lint = Series(f"tenantctl lint ({self.args.lint_files} files)", self.args.lint_files)
        groups.append([(lint, self.lint_case)])
        reps = self.args.reps
        for rep in range(reps):
            for cases in groups:
                for series, case in rotated(cases, rep):
                    series.runs.append(case())
                    log(f"[rep {rep + 1}/{reps}] {series.name}: {series.runs[-1].seconds:.3f} s")
        return Results(
            migrate=[migrate, *raw.values()],
            migrate_limit=min(raw.values(), key=lambda s: s.median),
            up_to_date=[noop, status],
            provision=[provision, *raw_provision.values()],
            provision_limit=min(raw_provision.values(), key=lambda s: s.median),
            sweep=list(sweep.values()) if self.args.sweep else [],
            pending=len(self.pending),
            cic=list(cic.values()),
            lint=lint,
            shards=[shards, raw_shards] if self.second else [],
            shards_limit=raw_shards if self.second else None,
        )

    def count_round_trips(self) -> dict:
        """Untimed: round trips and connections of each tenantctl command, through the counting relay."""
        tenants = self.args.count_tenants
        counts: dict[str, dict] = {}
        with RoundTripCounter(self.cluster.port) as relay:
            database = self.fresh_database(tenants)
            relay.take()
            for label, args in [
                ("migrate-tenants", ["migrate-tenants"]),
                ("no-op migrate-tenants", ["migrate-tenants"]),
                ("status", ["status"]),
            ]:
                self.tenantctl(database, *args, port=relay.port)
                counts[label] = relay.take()
            self.verify(database, tenants)
            self.cluster.drop_database(database)
            orgs = self.new_orgs[:tenants]
            org_file = self._write(f"count_orgs_{tenants}.txt", "".join(t.org_id + "\n" for t in orgs))
            database = self.fresh_database(0)
            relay.take()
            self.tenantctl(database, "provision-tenant", "--from-file", str(org_file), port=relay.port)
            counts["provision-tenant"] = relay.take()
            self.verify(database, tenants)
            self.cluster.drop_database(database)
        for label, c in counts.items():
            per_tenant = label in ("migrate-tenants", "provision-tenant")
            c["tenants"] = tenants
            c["round_trips_per_tenant"] = round(c["round_trips"] / tenants, 2) if per_tenant else None
        return counts


# --- the machine and the output ---------------------------------------------------------------------


def machine(cluster: Cluster, tenantctl: Path) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1])
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    os_release = Path("/etc/os-release")
    pretty = re.search(r'PRETTY_NAME="?([^"\n]+)', os_release.read_text()) if os_release.exists() else None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu[1].strip() if cpu else platform.machine(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": pretty[1] if pretty else platform.platform(),
        "postgres": cluster.server_version(),
        "tenantctl_commit": git_commit(),
        # Other work on the machine shows in the spread: 1-minute load before and after the bench.
        "load_average_before": os.getloadavg(),
        "tenantctl_version": subprocess.run([str(tenantctl), "--version"], capture_output=True, text=True)
        .stdout.strip(),
    }


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def default_concurrency(tenantctl: Path) -> int | None:
    """The default `--concurrency`, as `migrate-tenants --help` states it."""
    help_text = subprocess.run([str(tenantctl), "migrate-tenants", "--help"], capture_output=True, text=True).stdout
    found = re.search(r"--concurrency <N>.*?\[default:[^\]]*?(\d+)\]", help_text, re.S)
    return int(found[1]) if found else None


def tables(results: Results, counts: dict, default: int | None) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of every table."""
    main = (
        report.rows(results.migrate, results.migrate_limit)
        + report.rows(results.up_to_date, None)
        + report.rows(results.provision, results.provision_limit)
    )
    title = (
        f"{results.migrate[0].tenants} tenants, {results.pending} migrations each; "
        f"provisioning {results.provision[0].tenants} orgs"
    )
    out = [(title, report.HEADERS, main)]
    if results.shards:
        shards_title = (
            f"{results.shards[0].tenants} tenants over {len(SHARDS)} servers ({results.pending} migrations each, "
            f"half on each; × the 2-server limit: {SHARD_STREAMS} raw psql streams per server)"
        )
        out.append((shards_title, report.HEADERS, report.rows(results.shards, results.shards_limit)))
    if results.sweep:
        sweep = report.rows(results.sweep, results.migrate_limit)
        fastest = min(results.sweep, key=lambda s: s.median)
        for series, row in zip(results.sweep, sweep):
            notes = [("default", series.name == f"--concurrency {default}"), ("fastest", series is fastest)]
            marks = [note for note, applies in notes if applies]
            row[0] += f" ({', '.join(marks)})" if marks else ""
        out.append(("migrate-tenants --concurrency sweep", report.HEADERS, sweep))
    cic_title = (
        f"No-transaction fan-out: CREATE INDEX CONCURRENTLY over {results.cic[0].tenants} tenants, "
        "by no_transaction_concurrency (× the fastest)"
    )
    fastest_cic = min(results.cic, key=lambda s: s.median)
    out.append((cic_title, report.HEADERS, report.rows(results.cic, fastest_cic, mark="the fastest")))
    lint_headers = ["case", "median s", "spread s (min–max)", "ms/file", "peak RSS MiB"]
    lint = report.rows([results.lint], None)[0]
    out.append(("Lint", lint_headers, [lint[:4] + lint[5:]]))
    out.append(("Round trips to the server (untimed run; Query + Sync messages)", *report.round_trip_rows(counts)))
    return out


def write_results(
    results: Results, counts: dict, info: dict, args: argparse.Namespace, started: datetime.datetime,
    default: int | None,
) -> Path:  # fmt: skip
    """bench/results/<UTC time>.json with every figure, and latest.md with the tables."""
    args.results.mkdir(parents=True, exist_ok=True)
    document = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": info,
        "parameters": {
            "tenants": args.tenants, "reps": args.reps, "provision": args.provision, "sweep": bool(args.sweep),
            "count_tenants": args.count_tenants, "default_concurrency": default,
            "cic_tenants": args.cic_tenants, "lint_files": args.lint_files, "shards": bool(args.shards),
        },  # fmt: skip
        "migrate": [s.as_json(results.migrate_limit) for s in results.migrate],
        "migrate_limit": results.migrate_limit.name,
        "up_to_date": [s.as_json(None) for s in results.up_to_date],
        "provision": [s.as_json(results.provision_limit) for s in results.provision],
        "provision_limit": results.provision_limit.name,
        "shards": [s.as_json(results.shards_limit) for s in results.shards],
        "shards_limit": results.shards_limit.name if results.shards_limit else None,
        "sweep": [s.as_json(results.migrate_limit) for s in results.sweep],
        "no_transaction": [s.as_json(None) for s in results.cic],
        "lint": results.lint.as_json(None),
        "round_trips": counts,
    }
    path = args.results / f"{started:%Y-%m-%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    intro = (
        f"`make bench N={args.tenants} REPS={args.reps}`, run {started:%Y-%m-%d %H:%M} UTC. "
        f"Machine: {report.machine_line(info)}. Each figure is the median of {args.reps} runs, each on a fresh "
        "database; \"the limit\" is the faster raw psql baseline; RSS is tenantctl's peak. "
        f"All figures: `bench/results/{path.name}`."
    )
    sections = [intro] + [f"**{t}**\n\n{report.markdown_table(h, b)}" for t, h, b in tables(results, counts, default)]
    (args.results / "latest.md").write_text("\n\n".join(sections) + "\n")
    return path


def main() -> int:
    args = parse_args()
    if not args.tenantctl.is_file():
        raise BenchError(f"{args.tenantctl} does not exist: run `cargo build --release` (or `make bench`)")
    try:
        gnu_time()
    except FileNotFoundError as missing:
        raise BenchError(str(missing)) from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    default = default_concurrency(args.tenantctl)
    temp = Path(tempfile.mkdtemp(prefix="tenantctl-bench-"))
    temp.chmod(0o755)  # the cluster runs as the postgres user, who must reach its directory
    cluster = Cluster(REPO / "scripts" / "pg.sh", temp / "pg")
    # The second server of the multi-shard case.
    second = Cluster(REPO / "scripts" / "pg.sh", temp / "pg2") if args.shards else None
    try:
        for server in filter(None, [cluster, second]):
            server.start()
        (temp / "work").mkdir()
        bench = Bench(args, cluster, temp / "work", default, second)
        info = machine(cluster, args.tenantctl)
        log(f"tenantctl {info['tenantctl_commit']}, PostgreSQL {info['postgres']}, N = {args.tenants}")
        if info["load_average_before"][0] > info["nproc"] / 2:
            log(f"bench: the machine is busy (load {info['load_average_before'][0]:.1f}): expect a wide spread")
        results = bench.run_all()
        counts = bench.count_round_trips()
    finally:
        for server in filter(None, [cluster, second]):
            server.stop()  # a server that never started: pg.sh stops a directory that is gone
        shutil.rmtree(temp, ignore_errors=True)
    info["load_average_after"] = os.getloadavg()
    for title, headers, body in tables(results, counts, default):
        print(f"\n{title}\n{report.text_table(headers, body)}")
    path = write_results(results, counts, info, args, started, default)
    print(f"\nmachine: {report.machine_line(info)}")
    shown = lambda p: p.relative_to(REPO) if p.is_relative_to(REPO) else p  # noqa: E731
    print(f"results: {shown(path)} and {shown(path.parent / 'latest.md')}")
    print(f"bench took {time.monotonic() - clock:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"bench: FAILED: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("bench: interrupted")
        sys.exit(130)
