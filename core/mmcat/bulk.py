"""Fast inserts of many plain rows: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert ``rows`` (tuples in ``fields`` order) into ``model``'s table, in the current
    transaction. No signals are sent and no ids are returned: use it for rows nobody refers to
    (parameter values), not for objects the caller needs back."""
    meta = model._meta
    if connection.vendor != "postgresql":
        attnames = [meta.get_field(f).attname for f in fields]  # "dataset" -> "dataset_id"
        model.objects.bulk_create(
            (model(**dict(zip(attnames, row, strict=True))) for row in rows), batch_size=2000
        )
        return
    from psycopg.types.json import Jsonb

    json_columns = {i for i, name in enumerate(fields)
                    if isinstance(meta.get_field(name), models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if json_columns:
                row = tuple(Jsonb(v) if i in json_columns and v is not None else v
                            for i, v in enumerate(row))
            copy.write_row(row)
