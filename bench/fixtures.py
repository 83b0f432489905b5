"""The benchmark's data: the tenant migration files, tenant identities, and the SQL scripts that
seed tenants and that form the raw psql baselines.

Every script writes exactly what tenantctl itself writes (crates/engine/src/bootstrap.rs,
tracking.rs, runner.rs, central.rs): tracking rows with the hex SHA-256 of the up file's bytes,
the registry mirror columns, and the central record of each migration version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

UP_FILE = re.compile(r"^(\d+)_([A-Za-z0-9_-]+)\.up\.sql$")

# Tenants created per transaction when seeding: large enough to batch the commits, small enough
# for the shared lock table (max_locks_per_transaction x max_connections).
SEED_CHUNK = 200

# As in crates/engine/src/tracking.rs (`create_if_missing_sql`).
TRACKING_TABLE_DDL = """CREATE TABLE tenantctl_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    batch integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL);"""


@dataclass(frozen=True)
class Migration:
    """One tenant migration: its version, name, up script and checksum."""

    version: int
    name: str
    sql: str
    checksum: str


def load_migrations(directory: Path) -> list[Migration]:
    """The up files of `directory`, in version order."""
    migrations = []
    for path in directory.iterdir():
        match = UP_FILE.match(path.name)
        if not match:
            continue
        data = path.read_bytes()
        sql = data.decode("utf-8")
        if not sql.rstrip().endswith(";"):
            raise ValueError(f"{path.name}: a benchmark migration must end with `;`")
        migrations.append(
            Migration(int(match[1]), match[2], sql.rstrip() + "\n", hashlib.sha256(data).hexdigest())
        )
    migrations.sort(key=lambda m: m.version)
    if len(migrations) < 2:
        raise ValueError(f"{directory}: expected a baseline migration and the migrations to time")
    return migrations


@dataclass(frozen=True)
class Tenant:
    """A tenant as the registry knows it."""

    id: int
    org_id: str
    schema: str
    # The registry's `shard` column: the server that holds the schema (`default`, the control database).
    shard: str = "default"


def schema_for(org_id: str) -> str:
    """tenantctl's default schema name: `tid_` + the first 10 hex digits of SHA-256(org id)."""
    return "tid_" + hashlib.sha256(org_id.encode("utf-8")).hexdigest()[:10]


def tenants(count: int, prefix: str = "org") -> list[Tenant]:
    """`count` tenants `<prefix>-000001`..., with registry ids 1..count."""
    orgs = (f"{prefix}-{i:06d}" for i in range(1, count + 1))
    return [Tenant(i, org, schema_for(org)) for i, org in enumerate(orgs, start=1)]


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _tracking_insert(migrations: list[Migration], batch: int) -> str:
    rows = ",\n    ".join(
        f"({m.version}, {literal(m.name)}, {literal(m.checksum)}, {batch}, 0)" for m in migrations
    )
    return (
        "INSERT INTO tenantctl_migrations (version, name, checksum, batch, duration_ms) VALUES\n    "
        + rows
        + ";"
    )


def central_insert(migrations: list[Migration]) -> str:
    """Records the versions in public.tenantctl_tenant_migrations (first writer wins)."""
    rows = ", ".join(f"({m.version}, {literal(m.name)}, {literal(m.checksum)})" for m in migrations)
    return (
        "INSERT INTO public.tenantctl_tenant_migrations (version, name, checksum) VALUES "
        + rows
        + " ON CONFLICT (version) DO NOTHING;"
    )


def _schema_objects(schema: str, migrations: list[Migration], batch: int) -> list[str]:
    """Inside a transaction: the schema, its tracking table and `migrations`, recorded."""
    return [
        f"CREATE SCHEMA {schema};",
        f"SET LOCAL search_path TO {schema}, public;",
        TRACKING_TABLE_DDL,
        *(m.sql for m in migrations),
        _tracking_insert(migrations, batch),
    ]


def spread(all_tenants: list[Tenant], shards: list[str]) -> list[Tenant]:
    """`all_tenants` dealt over `shards` in registry order (ids 1, 3, ... on the first), as placement
    by the fewest tenants deals a bulk provisioning run."""
    return [replace(t, shard=shards[i % len(shards)]) for i, t in enumerate(all_tenants)]


def registry_script(all_tenants: list[Tenant], baseline: list[Migration]) -> str:
    """The control database's part of seeding: registry rows (with their shard), each at the baseline
    version, and the central record of the baseline."""
    version, count = baseline[-1].version, len(baseline)
    lines = [central_insert(baseline)]
    for start in range(0, len(all_tenants), 1000):
        rows = ",\n    ".join(
            f"({t.id}, {literal(t.org_id)}, {literal(t.schema)}, {literal(t.shard)}, 'ACTIVE', {version}, {count})"
            for t in all_tenants[start : start + 1000]
        )
        lines.append(
            "INSERT INTO public.tenants (id, org_id, schema_name, shard, status, schema_version, migration_count)"
            f" OVERRIDING SYSTEM VALUE VALUES\n    {rows};"
        )
    lines.append(f"SELECT setval(pg_get_serial_sequence('public.tenants', 'id'), {len(all_tenants)});")
    return "\n".join(lines) + "\n"


def schemas_script(server_tenants: list[Tenant], baseline: list[Migration]) -> str:
    """The schemas and tracking tables of the tenants a server holds, each with the baseline applied
    (no registry: on a shard, that is in the control database)."""
    lines = []
    for start in range(0, len(server_tenants), SEED_CHUNK):
        lines.append("BEGIN;")
        for tenant in server_tenants[start : start + SEED_CHUNK]:
            lines.extend(_schema_objects(tenant.schema, baseline, batch=1))
        lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def seed_script(all_tenants: list[Tenant], baseline: list[Migration]) -> str:
    """Registry rows, schemas and tracking tables of `all_tenants`, all on one server, each at the
    baseline version.

    Runs after `tenantctl migrate-master` created the bootstrap tables in the database.
    """
    return registry_script(all_tenants, baseline) + schemas_script(all_tenants, baseline)


def registry_update(tenant: Tenant, pending: list[Migration], applied: int) -> str:
    """The registry mirror of a tenant that got `pending` (on top of `applied` migrations)."""
    return (
        f"UPDATE public.tenants SET schema_version = {pending[-1].version}, migration_count = {applied + len(pending)},"
        f" updated_at = clock_timestamp() WHERE id = {tenant.id};"
    )


def migrate_transaction(
    tenant: Tenant, pending: list[Migration], applied: int, batch: int, registry: bool = True
) -> str:
    """One tenant's transaction of the raw migrate baseline: what tenantctl does for it. Without
    `registry`, the tenant's server is not the registry's: the mirror is updated there after."""
    return "\n".join(
        [
            "BEGIN;",
            f"SET LOCAL search_path TO {tenant.schema}, public;",
            *(m.sql for m in pending),
            _tracking_insert(pending, batch),
            *([registry_update(tenant, pending, applied)] if registry else []),
            "COMMIT;",
        ]
    )


def provision_transaction(tenant: Tenant, migrations: list[Migration]) -> str:
    """One org's transaction of the raw provisioning baseline: registry row, schema, every migration."""
    return "\n".join(
        [
            "BEGIN;",
            "INSERT INTO public.tenants (org_id, schema_name, status, schema_version, migration_count)"
            f" VALUES ({literal(tenant.org_id)}, {literal(tenant.schema)}, 'ACTIVE',"
            f" {migrations[-1].version}, {len(migrations)});",
            *_schema_objects(tenant.schema, migrations, batch=1),
            "COMMIT;",
        ]
    )


def stream_scripts(transactions: list[str], streams: int, preamble: str) -> list[str]:
    """The transactions dealt round-robin into `streams` scripts, each starting with `preamble`."""
    return ["\n".join([p for p in [preamble] if p] + transactions[i::streams]) + "\n" for i in range(streams)]


# A no-transaction migration for the concurrent-index fan-out (runs after the bench's migrations).
CIC_MIGRATION = (
    "0005_items_created_at_idx.up.sql",
    "-- tenantctl:no-transaction\n"
    "DROP INDEX CONCURRENTLY IF EXISTS items_created_at_idx;\n"
    "CREATE INDEX CONCURRENTLY items_created_at_idx ON items (created_at);\n",
)

# The files `tenantctl lint` reads in the lint case: the kinds of statement real migrations hold,
# each written the safe way, so the run finds nothing and exits 0 (every rule is still evaluated).
_LINT_TEMPLATES = (
    "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,\n"
    "    created_at timestamptz NOT NULL DEFAULT now(), tags text[] NOT NULL DEFAULT '{{}}');\n",
    "ALTER TABLE t{p} ADD COLUMN note{i} text;\nCOMMENT ON COLUMN t{p}.note{i} IS 'free text';\n",
    "-- tenantctl:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t{p}_name{i}_idx ON t{p} (name);\n",
    "ALTER TABLE t{p} ADD CONSTRAINT t{p}_name_check CHECK (length(name) < 200) NOT VALID;\n",
    "ALTER TABLE t{p} VALIDATE CONSTRAINT t{p}_name_check;\n",
    "CREATE OR REPLACE VIEW v{i} AS SELECT id, name FROM t{p} WHERE created_at > now() - interval '1 day';\n",
    "UPDATE t{p} SET name = lower(name) WHERE id IN (SELECT id FROM t{p} WHERE name <> lower(name) LIMIT 1000);\n",
)


def write_lint_files(directory: Path, count: int) -> None:
    """`count` migration files in `directory`, cycling through the templates (each refers to a table
    an earlier file created)."""
    directory.mkdir()
    for i in range(1, count + 1):
        template = _LINT_TEMPLATES[(i - 1) % len(_LINT_TEMPLATES)]
        table = i - (i - 1) % len(_LINT_TEMPLATES)  # the file that created this cycle's table
        (directory / f"{i:04d}_m{i}.up.sql").write_text(template.format(i=i, p=table))
