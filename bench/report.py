"""The benchmark's output: tables as text for the terminal and as Markdown for the README."""

from __future__ import annotations

from measure import Series

HEADERS = ["case", "median s", "spread s (min–max)", "ms/tenant", "× limit", "peak RSS MiB"]


def rows(series: list[Series], limit: Series | None, mark: str = "the limit") -> list[list[str]]:
    """One row per case; the ratio against `limit` when there is one, whose row is marked `mark`."""
    out = []
    for s in series:
        ratio = f"{s.median / limit.median:.2f}" if limit else "—"
        rss = f"{s.peak_rss_mib:.1f}" if s.tool else "— (psql)"
        name = s.name + (f" ← {mark}" if s is limit else "")
        out.append(
            [name, f"{s.median:.3f}", f"{s.low:.3f}–{s.high:.3f}", f"{s.ms_per_tenant:.3f}", ratio, rss]
        )
    return out


def text_table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:]))
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in body)])


def markdown_table(headers: list[str], body: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = "| --- |" + " ---: |" * (len(headers) - 1)
    return "\n".join([line(headers), align, *(line(r) for r in body)])


def machine_line(machine: dict) -> str:
    return (
        f"{machine['cpu']}, {machine['nproc']} cores, {machine['memory_gib']} GiB, "
        f"PostgreSQL {machine['postgres']} (default settings, fsync on), "
        f"tenantctl {machine['tenantctl_commit']}, {machine['os']}; load average {_load(machine)}"
    )


def _load(machine: dict) -> str:
    """The 1-minute load average before and after the run."""
    before, after = machine["load_average_before"][0], machine.get("load_average_after", [None])[0]
    return f"{before:.1f} before, {after:.1f} after" if after is not None else f"{before:.1f}"


def round_trip_rows(counts: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the round-trip counts (bench/wire.py)."""
    headers = ["command", "tenants", "round trips", "per tenant", "connections"]
    body = []
    for label, c in counts.items():
        per_tenant = c["round_trips_per_tenant"]
        body.append(
            [label, str(c["tenants"]), str(c["round_trips"]),
             f"{per_tenant:.2f}" if per_tenant is not None else "—", str(c["connections"])]
        )  # fmt: skip
    return headers, body
