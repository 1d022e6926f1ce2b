"""Walk dataset lineage (DatasetLink): ancestors, descendants, and the whole connected graph."""

from __future__ import annotations

from django.db import connection

from .models import Dataset, DatasetLink


def _walk(start_ids: set[int], forward: bool, limit: int = 10_000) -> set[int]:
    """Ids reachable from ``start_ids``: descendants when ``forward``, else ancestors."""
    src, dst = ("input_id", "output_id") if forward else ("output_id", "input_id")
    seen: set[int] = set()
    frontier = set(start_ids)
    while frontier and len(seen) < limit:
        step = set(
            DatasetLink.objects.filter(**{f"{src}__in": frontier}).values_list(dst, flat=True)
        )
        frontier = step - seen
        seen |= frontier
    return seen


def ancestors(dataset: Dataset) -> set[int]:
    return _walk({dataset.pk}, forward=False)


def descendants(dataset: Dataset) -> set[int]:
    return _walk({dataset.pk}, forward=True)


def would_create_cycle(output: Dataset, new_input: Dataset) -> bool:
    """Linking ``new_input -> output`` makes a cycle if ``new_input`` descends from ``output``."""
    return new_input.pk == output.pk or new_input.pk in descendants(output)


CONNECTED_SQL = """
WITH RECURSIVE reach(id) AS (
    SELECT CAST(%s AS BIGINT)
    UNION
    SELECT CASE WHEN link.input_id = reach.id THEN link.output_id ELSE link.input_id END
    FROM {links} AS link JOIN reach ON link.input_id = reach.id OR link.output_id = reach.id
)
SELECT id FROM reach LIMIT %s
"""


def connected(dataset: Dataset, limit: int = 2_000) -> set[int]:
    """Every dataset linked to ``dataset`` through any chain of links, in either direction:
    its inputs, its outputs, and the other inputs of those outputs (the sibling sweeps of a
    merge). One recursive query (PostgreSQL and SQLite); at most ``limit`` datasets."""
    sql = CONNECTED_SQL.format(links=connection.ops.quote_name(DatasetLink._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [dataset.pk, limit])
        return {row[0] for row in cursor.fetchall()}


def graph(dataset: Dataset, visible) -> dict:
    """The lineage graph around ``dataset`` limited to the ``visible`` datasets queryset:
    ``{"nodes": [...], "edges": [...]}``."""
    ids = connected(dataset)
    nodes = visible.filter(pk__in=ids).select_related("session__proposal", "sample")
    shown = {d.pk for d in nodes}
    edges = DatasetLink.objects.filter(output_id__in=shown, input_id__in=shown)
    return {
        "nodes": [
            {"id": d.pk, "name": d.name, "kind": d.kind, "technique": d.technique,
             "session": d.session.reference, "sample": d.sample_id,
             "sample_name": str(d.sample) if d.sample else "", "state": d.state}
            for d in nodes
        ],
        "edges": [
            {"input": e.input_id, "output": e.output_id, "role": e.role, "job": e.job_id,
             "software": e.software}
            for e in edges
        ],
    }
