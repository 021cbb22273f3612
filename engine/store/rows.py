"""Records as rows of a table: columns, readers, writers and updates derived from the record's
declaration (`engine.core.records.columns`), for any SQL adapter.

A row holds the record's fields in declaration order, then the job's (`JOB_COLUMNS`). Values
are written as SQL keeps them: a bool as 0/1, an enum as its value, a tuple of enums as its
values joined by commas, a job's rule as JSON text. The readers and writers are compiled once
from the declaration, so they cost what a hand-written tuple would (every transition goes
through them) without restating a field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from engine.core.enums import JobKind, Origin
from engine.core.frozen import record
from engine.core.progression import Outcome
from engine.core.records import Backup, Column, Kind, Restore, columns
from engine.store.base import Job

R = TypeVar("R")

#: The job's columns after the record's: what the engine keeps of a record besides its fields.
JOB_COLUMNS: tuple[str, ...] = (
    "visible", "origin", "due_at", "outcome", "rule", "ordinal", "phase_since",
)  # fmt: skip
#: Field names that are SQL keywords, and the column names that stand for them.
_RENAMED = {"groups": "groups_"}


def column_name(field: str) -> str:
    return _RENAMED.get(field, field)


def _compile(source: str, names: dict[str, Any]) -> Any:
    return eval(source, names)  # built from the declaration, never from input


def _read(column: Column, value: str, names: dict[str, Any]) -> str:
    """The expression that reads a field from its SQL value `value`."""
    if column.kind is Kind.BOOL:
        return f"bool({value})"
    if column.kind is Kind.ENUM:
        assert column.enum is not None
        names.setdefault(f"_{column.name}", {e.value: e for e in column.enum})
        read = f"_{column.name}[{value}]"
        return f"(None if {value} is None else {read})" if column.nullable else read
    if column.kind is Kind.ENUMS:
        assert column.enum is not None
        names.setdefault(f"_{column.name}", _EnumsReader(column.enum))
        return f"_{column.name}({value})"
    return value


class _EnumsReader:
    """A tuple of enums from its SQL text (values joined by commas), each distinct text read
    once: a restore's groups are read with every restore, and few texts recur."""

    __slots__ = ("_by_value", "_read")

    def __init__(self, enum: type[Any]) -> None:
        self._by_value = {e.value: e for e in enum}
        self._read: dict[str, tuple[Any, ...]] = {}

    def __call__(self, text: str | None) -> tuple[Any, ...]:
        if not text:
            return ()
        read = self._read.get(text)
        if read is None:
            if len(self._read) >= 4096:
                self._read.clear()
            by_value = self._by_value
            read = self._read[text] = tuple([by_value[v] for v in text.split(",")])
        return read


def _write(column: Column, value: str) -> str:
    """The expression that writes a field's SQL value from the field `value`. An enum's value
    is read as `_value_`, the member's plain attribute: `.value` is a property, a Python call
    per field of every write."""
    if column.kind is Kind.BOOL:
        return f"int({value})"
    if column.kind is Kind.ENUM:
        return (
            f"(None if {value} is None else {value}._value_)"
            if column.nullable
            else f"{value}._value_"
        )
    if column.kind is Kind.ENUMS:
        return f"','.join(g._value_ for g in {value})"
    return value


def _json(column: Column, value: str) -> str:
    """The expression that reads a field's JSON value from its SQL value (no domain object)."""
    if column.kind is Kind.BOOL:
        return f"bool({value})"
    if column.kind is Kind.ENUMS:
        return f"({value}.split(',') if {value} else [])"
    return value


_ORIGIN = {o.value: o for o in Origin}
_OUTCOME = {o.value: o for o in Outcome}


def job_values(job: Job) -> tuple[Any, ...]:
    """The job's columns (`JOB_COLUMNS`) as SQL keeps them."""
    return (
        int(job.visible),
        job.origin._value_,
        job.due_at,
        job.outcome._value_ if job.outcome else None,
        json.dumps(job.rule, sort_keys=True) if job.rule is not None else None,
        job.ordinal,
        job.phase_since,
    )


@record
class Table(Generic[R]):
    """A record kind's table: its SQL names and the functions between rows and records."""

    name: str
    kind: JobKind
    #: the record's column names, in declaration order (a row's first `width` values)
    record_columns: tuple[str, ...]
    #: the record's columns then the job's
    columns: tuple[str, ...]
    #: the record's columns the compare-and-set update writes, then the job's
    updated: tuple[str, ...]
    record: Callable[[tuple[Any, ...]], R]  # a row (record columns first) -> the record
    values: Callable[[R], tuple[Any, ...]]  # the record -> its columns' values
    updates: Callable[[R], tuple[Any, ...]]  # the record -> the updatable columns' values
    json: Callable[[tuple[Any, ...]], dict[str, Any]]  # a row -> the documented fields' JSON
    status_at: int  # where a row holds the status
    job: Callable[[tuple[Any, ...]], Job]  # a full row (record columns, then `JOB_COLUMNS`)

    @property
    def width(self) -> int:
        return len(self.record_columns)


def _job_reader(kind: JobKind, width: int, status_at: int) -> Callable[[tuple[Any, ...]], Job]:
    """The job of a full row, compiled for the table (every read of a job goes through it)."""
    at = {name: f"row[{width + i}]" for i, name in enumerate(JOB_COLUMNS)}
    source = (
        f"lambda row: _Job(_kind, row[0], row[{status_at}], bool({at['visible']}), "
        f"_ORIGIN[{at['origin']}], {at['due_at']}, "
        f"_OUTCOME[{at['outcome']}] if {at['outcome']} else None, "
        f"_loads({at['rule']}) if {at['rule']} else None, {at['ordinal']}, {at['phase_since']})"
    )
    names = {"_Job": Job, "_kind": kind, "_ORIGIN": _ORIGIN, "_OUTCOME": _OUTCOME}
    return _compile(source, {**names, "_loads": json.loads})  # type: ignore[no-any-return]


def table(name: str, kind: JobKind, record: type[R]) -> Table[R]:
    """A table derived from the record's declaration."""
    declared: type = record
    cols = columns(declared)
    names: dict[str, Any] = {"_record": record}
    reads = ", ".join(_read(c, f"row[{i}]", names) for i, c in enumerate(cols))
    writes = ", ".join(_write(c, f"r.{c.name}") for c in cols)
    updates = ", ".join(_write(c, f"r.{c.name}") for c in cols if c.updatable)
    documented = [(i, c) for i, c in enumerate(cols) if c.documented]
    body = ", ".join(f"{c.name!r}: {_json(c, f'row[{i}]')}" for i, c in documented)
    record_columns = tuple(column_name(c.name) for c in cols)
    status_at = next(i for i, c in enumerate(cols) if c.name == "status")
    return Table(
        name=name,
        kind=kind,
        record_columns=record_columns,
        columns=(*record_columns, *JOB_COLUMNS),
        updated=(*(column_name(c.name) for c in cols if c.updatable), *JOB_COLUMNS),
        record=_compile(f"lambda row: _record({reads})", names),
        values=_compile(f"lambda r: ({writes},)", names),
        updates=_compile(f"lambda r: ({updates},)", names),
        json=_compile(f"lambda row: {{{body}}}", names),
        status_at=status_at,
        job=_job_reader(kind, len(cols), status_at),
    )


RESTORES: Table[Restore] = table("restores", JobKind.RESTORE, Restore)
BACKUPS: Table[Backup] = table("backups", JobKind.BACKUP, Backup)
