"""Set-based writes Django's ORM makes slow: many rows' own values in one UPDATE ... FROM (VALUES ...)."""

from django.db import connection
from django.db.models import Model


def rows_update(model: type[Model], objs: list[Model], fields: list[str], **same) -> None:
    """Write `fields` of these rows, each its own value, and `same` on all of them, in one UPDATE ... FROM
    (VALUES ...). Django's bulk_update builds a CASE per field per row, which was half a scoring run's time at
    10,000 workers and half a batch's; it remains for an SQLite older than 3.33, which has no UPDATE ... FROM."""
    if not objs:
        return
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        for obj in objs:
            for name, value in same.items():
                setattr(obj, name, value)
        model.objects.bulk_update(objs, [*fields, *same])
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = [model._meta.get_field(name) for name in fields]
    constants = [model._meta.get_field(name) for name in same]
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    assignments = [f"{qn(c.column)} = v.column{i + 2}" for i, c in enumerate(columns)]
    assignments += [f"{qn(c.column)} = %s" for c in constants]
    params = [c.get_db_prep_save(same[c.name], connection) for c in constants]
    params += [
        value
        for obj in objs
        for value in (obj.pk, *(c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns))
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {', '.join([row] * len(objs))}) AS v "
            f"WHERE {table}.{qn(model._meta.pk.column)} = v.column1",
            params,
        )
