"""Whole rows read by a statement written once: the few the worker runs for every request.

The ORM builds and compiles a query anew at every call, which costs the worker more
CPU than SQLite takes to run it (a generation's claim, its node's row). For those,
the SQL is written once (`columns()` names every column, in the model's order) and
the rows are made into instances as the ORM makes them: each field's converters
(JSON text, SQLite's datetimes and booleans) and then `Model.from_db`.
"""

from functools import lru_cache

from django.db import connection


class Query:
    """A queryset's SQL, compiled by the ORM once per database and then run raw: for the
    statements asked for every request, where compiling costs more than running
    (~0.5 ms of CPU against ~0.02 for a count). `build()` makes the queryset."""

    def __init__(self, build):
        self.build = build
        self.compiled = {}  # database vendor: (sql, params)

    def sql(self):
        vendor = connection.vendor
        if vendor not in self.compiled:
            self.compiled[vendor] = self.build().query.sql_with_params()
        return self.compiled[vendor]

    def values(self):
        """Every row, as tuples of the values the queryset selects (not converted)."""
        with connection.cursor() as cursor:
            cursor.execute(*self.sql())
            return cursor.fetchall()

    def count(self):
        """How many rows the queryset has (`queryset.count()`)."""
        sql, params = self.sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)
            return cursor.fetchone()[0]


def fetch(model, sql, params=()):
    """Run `sql` (a SELECT or an UPDATE ... RETURNING of `columns(model)`) and return the instances."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()  # to the end: SQLite finishes an UPDATE ... RETURNING only then
    converters = _converters(model, connection.vendor)
    names = _attnames(model)
    instances = []
    for values in fetched:
        values = list(values)
        for position, functions, column in converters:
            for convert in functions:
                values[position] = convert(values[position], column, connection)
        instances.append(model.from_db(connection.alias, names, values))
    return instances


def get(model, pk):
    """`model.objects.get(pk=pk)`, its SQL written once: a waiting client reads its request's
    row when it starts waiting and when it ends."""
    found = fetch(model, _by_pk(model), [pk])
    if not found:
        raise model.DoesNotExist(f"No {model._meta.object_name} with pk {pk}")
    return found[0]


def refresh(instance):
    """`instance.refresh_from_db()` for its fields, with `get`'s SQL: a streaming client reads
    its request's row at every flush of the worker (twenty times a second)."""
    fresh = get(type(instance), instance.pk)
    for name in _attnames(type(instance)):
        setattr(instance, name, getattr(fresh, name))


@lru_cache
def _by_pk(model):
    quote = connection.ops.quote_name
    return f"SELECT {columns(model)} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s"


@lru_cache
def columns(model):
    """Every column of `model`, quoted, in the order `fetch` reads them."""
    return ", ".join(connection.ops.quote_name(field.column) for field in model._meta.concrete_fields)


@lru_cache
def _attnames(model):
    return [field.attname for field in model._meta.concrete_fields]


@lru_cache
def _converters(model, vendor):
    """[(position, converters, column)] for the columns that need converting (what the ORM's compiler applies)."""
    found = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((position, functions, column))
    return found
