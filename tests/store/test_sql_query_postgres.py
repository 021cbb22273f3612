"""The PostgreSQL store's list statement (`postgres.list_page`: the list compiler in its
PostgreSQL dialect) answers as the Python evaluator does, on a real PostgreSQL
(127.0.0.1:5432, a database of its own, dropped afterwards): the same compiler serves both
stores, and only the dialect differs (issue 12.1)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import query
from engine.core.errors import QRadarError
from engine.core.records import BACKUP_SORTABLE, RESTORE_FIELDS, RESTORE_SORTABLE, Backup, Restore
from engine.store import sql_query
from engine.store.base import answer_by_oracle
from engine.store.postgres import list_page
from engine.store.rows import BACKUPS, RESTORES
from tests.store.test_sql_query import BACKUP_KEYS, backups, requests, restores

_backup = BACKUPS.record
_backup_values = BACKUPS.values
_restore = RESTORES.record
_restore_values = RESTORES.values

psycopg = pytest.importorskip("psycopg")

_COLUMNS = {
    "restores": "id BIGINT, initiated_by TEXT, host_id BIGINT, time_initiated BIGINT, "
    "time_completed BIGINT, status TEXT, is_cross_deployment_restore SMALLINT, backup_id BIGINT, "
    "backup_name TEXT, backup_version TEXT, backup_type TEXT, backup_filename TEXT, groups_ TEXT",
    "backups": "id BIGINT, configuration_id BIGINT, host_id BIGINT, name TEXT, description TEXT, "
    "type TEXT, version TEXT, time_initiated BIGINT, time_completed BIGINT, initiated_by TEXT, "
    "status TEXT, size_on_disk BIGINT, content_file_path TEXT, is_valid SMALLINT, "
    "is_version_compatible SMALLINT, app_deployment_location TEXT, build_version TEXT",
}


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    name = f"bre_lists_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as c:
            for table, columns in _COLUMNS.items():
                c.execute(
                    f"CREATE TABLE {table} (console TEXT NOT NULL, {columns}, "
                    "visible SMALLINT NOT NULL, PRIMARY KEY (console, id))"
                )
            yield c
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def _store(
    c: Any,
    table: str,
    world: tuple[tuple[Any, bool], ...],
    values: Callable[[Any], tuple[Any, ...]],
) -> list[Any]:
    c.execute(f"DELETE FROM {table}")
    rows = [("c", *values(r), int(v)) for r, v in world]
    rows += [("other", *values(r), 1) for r, _ in world]
    if rows:
        marks = ", ".join(["%s"] * len(rows[0]))
        with c.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    return [r for r, v in world if v]


def _compare(
    c: Any,
    request: query.ListRequest,
    visible: list[Any],
    table: sql_query.Table,
    convert: Callable[..., Any],
) -> None:
    """The adapter's own list statement (`postgres.list_page`) against the oracle."""
    refusal: QRadarError | None = None
    try:
        expected: Any = answer_by_oracle(visible, request)
    except QRadarError as error:  # a filter too costly for the records: the same refusal
        refusal = error
    if refusal is not None:
        with pytest.raises(QRadarError) as refused:
            list_page(c.cursor(), "c", request, table, convert)
        assert refused.value.code == refusal.code
        return
    page = list_page(c.cursor(), "c", request, table, convert)
    if page is None:  # ilike, or text PostgreSQL cannot hold: the evaluator answers it
        assert (
            sql_query.compile_list(
                request, table, sql_query.POSTGRES, sql_query.postgres_placeholder
            )
            is None
        )
        return
    assert (page.records, page.total) == (expected.records, expected.total), request


_SETTINGS = settings(
    max_examples=int(os.environ.get("BRE_SQL_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(
    world=st.lists(st.integers(), max_size=12).flatmap(
        lambda rows: st.tuples(
            *(st.tuples(restores(i + 1), st.booleans()) for i in range(len(rows)))
        )
    ),
    request=st.lists(requests(RESTORE_FIELDS, RESTORE_SORTABLE), min_size=1, max_size=4),
)
def test_restore_lists_in_postgresql_equal_the_oracle(
    pg: Any, world: tuple[tuple[Restore, bool], ...], request: list[Any]
) -> None:
    visible = _store(pg, "restores", world, _restore_values)
    for r in request:
        _compare(pg, r, visible, sql_query.RESTORES, _restore)


@_SETTINGS
@given(
    world=st.lists(st.integers(), max_size=12).flatmap(
        lambda rows: st.tuples(
            *(st.tuples(backups(i + 1), st.booleans()) for i in range(len(rows)))
        )
    ),
    request=st.lists(requests(BACKUP_KEYS, BACKUP_SORTABLE), min_size=1, max_size=4),
)
def test_backup_lists_in_postgresql_equal_the_oracle(
    pg: Any, world: tuple[tuple[Backup, bool], ...], request: list[Any]
) -> None:
    visible = _store(pg, "backups", world, _backup_values)
    for r in request:
        _compare(pg, r, visible, sql_query.BACKUPS, _backup)
