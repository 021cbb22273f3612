"""Tests of the list-query languages: filter, fields, Range, sort (engine/core/query.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import codes
from engine.core.endpoints import EndpointId
from engine.core.errors import QRadarError
from engine.core.filters import _compare
from engine.core.query import (
    FILTER_WORK_BUDGET,
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
    MAX_IN_VALUES,
    FieldSelection,
    RangeSpec,
    SortKey,
    Value,
    full_window,
    parse_fields,
    parse_filter,
    parse_range,
    parse_sort,
    sort_records,
)
from engine.core.records import RESTORE_FIELDS, RESTORE_SORTABLE

UNPROCESSABLE = {
    "message": "The request was well-formed but was unable to be followed due to semantic errors",
    "code": 422,
}

RESTORE: dict[str, Any] = {
    "id": 3,
    "initiated_by": "admin",
    "host_id": 53,
    "time_initiated": 1767225600000,
    "time_completed": None,
    "status": "PENDING",
    "is_cross_deployment_restore": False,
    "backup_id": 2,
    "backup_name": "nightly_2",
    "backup_version": "7.5.0",
    "backup_type": "CONFIG",
    "backup_filename": "backup.nightly_2.tgz",
    "groups": ["DEPLOYMENT_CONFIG", "USERS_CONFIG"],
}


def matches(text: str, record: dict[str, Any] | None = None) -> bool:
    return parse_filter(text, RESTORE_FIELDS).matches(RESTORE if record is None else record)


def filter_error(text: str, allowed: tuple[str, ...] = RESTORE_FIELDS) -> QRadarError:
    with pytest.raises(QRadarError) as info:
        parse_filter(text, allowed)
    assert info.value.code is codes.BAD_FILTER
    return info.value


# ============================================================================ filter: examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id = 3", True),
        ("id=3", True),
        ("id = 4", False),
        ("id != 4", True),
        ("id <> 3", False),
        ("id ^= 3", False),
        ("id ^= 4", True),
        ("id < 4", True),
        ("id < 3", False),
        ("id <= 3", True),
        ("id > 2", True),
        ("id > 3", False),
        ("id >= 3", True),
        ("id >= 3.5", False),
        ("id = 3.0", True),
        ("id = +3", True),
        ("id = 30e-1", True),
        ("id = 0.3E1", True),
        ("id > -1", True),
        ("id > .5", True),
        ("id = 3.", True),
        ('id = "3"', True),
        ("id = 99999999999999999999999999999", False),
        ("id < 1e999999999999999999999999", True),
        ("id in (1, 2, 3)", True),
        ("id in (1,2)", False),
        ("id not in (1, 2)", True),
        ("id not in (3)", False),
        ("id between 1 and 3", True),
        ("id between 3 and 3", True),
        ("id between 4 and 9", False),
        ("id between 5 and 1", False),
        ("id not between 4 and 9", True),
        ("id not between 1 and 5", False),
        ("time_completed is null", True),
        ("time_completed is not null", False),
        ("id is null", False),
        ("id is not null", True),
        ("status = PENDING", True),
        ("status = pending", False),
        ("status = 'PENDING'", True),
        ('status = "PENDING"', True),
        ("status != SUCCESS", True),
        ("status in (SUCCESS, FAILED)", False),
        ("status > PAUSED", True),
        ("backup_version = 7.5.0", True),
        ("backup_version >= '7.4'", True),
        ("is_cross_deployment_restore = false", True),
        ("is_cross_deployment_restore = FALSE", True),
        ("is_cross_deployment_restore = 'False'", True),
        ("is_cross_deployment_restore = true", False),
        ("is_cross_deployment_restore != true", True),
        ("is_cross_deployment_restore < true", True),
        ("groups = USERS_CONFIG", True),
        ("groups = ASSETS_DATA", False),
        ("groups != ASSETS_DATA", True),
        ("groups != USERS_CONFIG", False),
        ("groups in (ASSETS_DATA, DEPLOYMENT_CONFIG)", True),
        ("groups not in (ASSETS_DATA, DEPLOYMENT_CONFIG)", False),
        ("groups not in (ASSETS_DATA)", True),
        ("groups contains USERS_CONFIG", True),
        ("groups contains ASSETS_DATA", False),
        ("status contains PENDING", False),
        ("groups like 'USERS%'", True),
        ("groups is not null", True),
        ("initiated_by like 'adm%'", True),
        ("initiated_by like 'ADM%'", False),
        ("initiated_by ilike 'ADM%'", True),
        ("initiated_by like '_dmin'", True),
        ("initiated_by like '__min'", True),
        ("initiated_by like '_min'", False),
        ("initiated_by like '%'", True),
        ("initiated_by like '%%%'", True),
        ("initiated_by like 'a%n'", True),
        ("initiated_by like 'admin_'", False),
        ("initiated_by not like 'x%'", True),
        ("initiated_by not ilike 'ADMIN'", False),
        ("backup_name like 'nightly\\_%'", True),
        ('backup_name like "nightly\\_2"', True),
        ("id like '3'", False),
        ("id not like '3'", False),
    ],
)
def test_filter_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("50\\%", "50%", True),
        ("50\\%", "500", False),
        ("a\\_b", "a_b", True),
        ("a\\_b", "axb", False),
        ("a\\\\%", "a\\xyz", True),
        ("it\\'s%", "it's mine", True),
        ("%a%a%a%a%a%a%a%a%a%a%b", "a" * 200, False),
        ("%a%a%a%a%a%a%a%a%a%a%b", "a" * 200 + "b", True),
        ("", "", True),
        ("", "x", False),
        ("é_", "éé", True),
    ],
)
def test_like_escapes_and_wildcards(pattern: str, value: str, expected: bool) -> None:
    record = {"initiated_by": value}
    assert matches(f"initiated_by like '{pattern}'", record) is expected


def test_ilike_is_case_insensitive_both_ways() -> None:
    assert matches("initiated_by ilike 'AdMiN'", {"initiated_by": "aDmIn"})
    assert not matches("initiated_by like 'AdMiN'", {"initiated_by": "aDmIn"})


def test_quoted_strings_unescape_quotes_and_backslashes() -> None:
    record = {"backup_name": 'say "hi" \\ it\'s'}
    assert matches('backup_name = "say \\"hi\\" \\\\ it\'s"', record)
    assert matches("backup_name = 'say \"hi\" \\\\ it\\'s'", record)
    assert matches("backup_name = 'a,b (c)'", {"backup_name": "a,b (c)"})


POSITIVE_ON_NULL = [
    "time_completed = 5",
    "time_completed > 5",
    "time_completed >= 5",
    "time_completed < 5",
    "time_completed <= 5",
    "time_completed in (5, 6)",
    "time_completed between 1 and 9",
    "time_completed like '%'",
    "time_completed ilike '%'",
    "time_completed contains 5",
]
NEGATIVE_ON_NULL = [
    "time_completed != 5",
    "time_completed <> 5",
    "time_completed ^= 5",
    "time_completed not in (5, 6)",
    "time_completed not between 1 and 9",
    "time_completed not like 'x'",
]


@pytest.mark.parametrize("text", POSITIVE_ON_NULL)
def test_positive_operators_are_false_on_null(text: str) -> None:
    assert not matches(text)
    assert not matches(text, {})  # a missing key is null


@pytest.mark.parametrize("text", NEGATIVE_ON_NULL)
def test_negative_operators_are_true_on_null(text: str) -> None:
    assert matches(text)
    assert matches(text, {})


@pytest.mark.parametrize(
    "text",
    [
        "id = abc",
        "id != abc",
        "id in (abc, def)",
        "id not in (abc)",
        "id between a and 9",
        "id not between a and 9",
        "id > true",
        "is_cross_deployment_restore = 0",
        "is_cross_deployment_restore != maybe",
        "id = nan",
        "id = inf",
    ],
)
def test_unconvertible_values_make_the_comparison_false(text: str) -> None:
    assert not matches(text)


def test_in_list_ignores_unconvertible_members() -> None:
    assert matches("id in (abc, 3)")
    assert matches("id not in (abc, 4)")


def test_empty_list_field_is_not_null() -> None:
    record: dict[str, Any] = {"groups": []}
    assert matches("groups is not null", record)
    assert not matches("groups = A", record)
    assert matches("groups != A", record)
    assert matches("groups not in (A)", record)


def test_float_and_odd_record_values() -> None:
    assert matches("id = 0.1", {"id": 0.1})
    assert matches("id > 0", {"id": float("inf")})
    assert not matches("id = 1", {"id": float("nan")})
    assert not matches("id = 1", {"id": {"nested": 1}})
    assert not matches("id != 1", {"id": {"nested": 1}})


# --- precedence, grouping, keywords


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        # `and` binds tighter than `or`: a or (b and c)
        ("id = 1 or host_id = 1 and backup_id = 1", {"id": 1, "host_id": 0, "backup_id": 0}, True),
        (
            "(id = 1 or host_id = 1) and backup_id = 1",
            {"id": 1, "host_id": 0, "backup_id": 0},
            False,
        ),
        ("host_id = 1 and backup_id = 1 or id = 1", {"id": 1, "host_id": 0, "backup_id": 0}, True),
        (
            "host_id = 1 and (backup_id = 1 or id = 1)",
            {"id": 1, "host_id": 0, "backup_id": 0},
            False,
        ),
        # `not` binds tighter than `and`: (not a) and b
        ("not id = 1 and host_id = 1", {"id": 2, "host_id": 2}, False),
        ("not (id = 1 and host_id = 1)", {"id": 2, "host_id": 2}, True),
        ("not id = 1 or host_id = 1", {"id": 1, "host_id": 2}, False),
        ("not not id = 1", {"id": 1}, True),
        ("not (not (id = 1))", {"id": 1}, True),
        ("((id = 1))", {"id": 1}, True),
        ("id = 1 AND host_id = 2 Or backup_id = 3", {"id": 0, "host_id": 0, "backup_id": 3}, True),
        ("ID_X = 1", None, None),
        ("id IN (1) AnD time_completed Is NoT NuLl", {"id": 1, "time_completed": 5}, True),
        ("id NOT BETWEEN 0 AND 3 OR id Not In (1)", {"id": 1}, False),
        ("id = 1 and not id in (2, 3)", {"id": 1}, True),
    ],
)
def test_precedence_grouping_and_keyword_case(
    text: str, record: dict[str, Any] | None, expected: bool | None
) -> None:
    if expected is None:
        filter_error(text)
    else:
        assert matches(text, record) is expected


def test_empty_filter_matches_everything() -> None:
    assert parse_filter("", RESTORE_FIELDS).matches({})
    assert parse_filter("   ", RESTORE_FIELDS).expr is None


def test_select_keeps_order() -> None:
    records = [{"id": i} for i in (5, 1, 4, 2)]
    assert parse_filter("id > 1", ("id",)).select(records) == [{"id": 5}, {"id": 4}, {"id": 2}]


# --- errors


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id=1; DROP TABLE restores", 'unexpected character ";" at position 4'),
        ("id = 1 or 1=1", 'expected a field name at position 10, found "1"'),
        ("nope = 1", 'unknown field "nope" at position 0'),
        ("id = 1 and Status = PENDING", 'unknown field "Status" at position 11'),
        ("groups(value) = 1", 'unknown field "groups(value)" at position 0'),
        ("id =", "expected a value at position 4, found end of filter"),
        ("id = 1 name = 2", 'expected "and", "or" or the end at position 7, found "name"'),
        ("id", "expected an operator at position 2, found end of filter"),
        ("id == 1", 'expected a value at position 4, found "="'),
        ("id ! 1", 'unexpected character "!" at position 3'),
        ("(id = 1", 'expected ")" at position 7, found end of filter'),
        ("id = 1)", 'expected "and", "or" or the end at position 6, found ")"'),
        ("id in 1, 2", 'expected "(" at position 6, found "1"'),
        ("id in ()", 'expected a value at position 7, found ")"'),
        ("id between 1 or 2", 'expected "and" at position 13, found "or"'),
        ("id is nul", 'expected "null" at position 6, found "nul"'),
        ("id not = 1", 'expected "in", "between", "like" or "ilike" at position 7, found "="'),
        ("backup_name like nightly%", 'unexpected character "%" at position 24'),
        ("backup_name like nightly", 'expected a quoted pattern at position 17, found "nightly"'),
        ("backup_name = 'open", "unterminated string starting at position 14"),
        ("backup_name = 'trail\\", "unterminated string starting at position 14"),
        ("id = and", 'expected a value at position 5, found "and"'),
        ("and = 1", 'expected a field name at position 0, found "and"'),
        ("id = 1 and", "expected a field name at position 10, found end of filter"),
        ("not", "expected a field name at position 3, found end of filter"),
        ("()", 'expected a field name at position 1, found ")"'),
        ("id = \u0663", 'unexpected character "\u0663" at position 5'),
    ],
)
def test_filter_syntax_errors(text: str, reason: str) -> None:
    err = filter_error(text)
    assert err.body() == {
        "message": f'Failed to parse filter parameter "{text}": {reason}',
        "details": {},
        "description": "",
        "code": 12,
        "http_response": UNPROCESSABLE,
    }
    assert err.http_status == 422


def test_filter_nesting_cap() -> None:
    depth = MAX_FILTER_DEPTH
    assert matches("(" * depth + "id = 3" + ")" * depth)
    assert matches("not " * depth + "id = 3") is (depth % 2 == 0)
    err = filter_error("(" * (depth + 1) + "id = 3" + ")" * (depth + 1))
    assert f"nesting deeper than {depth}" in err.message
    filter_error("not " * (depth + 1) + "id = 3")
    filter_error("(" * 2000)  # no RecursionError leaks


def test_filter_length_cap() -> None:
    text = "id = 3 or " * 400 + "id = 4"
    assert len(text) <= MAX_FILTER_LENGTH
    assert matches(text)
    long = "id = 1 or " * 500 + "id = 3"
    err = filter_error(long)
    assert err.message.endswith(f": longer than {MAX_FILTER_LENGTH} characters")


def test_filter_term_cap() -> None:
    at_cap = " or ".join(["id=3"] * MAX_FILTER_TERMS)
    assert len(at_cap) <= MAX_FILTER_LENGTH
    assert matches(at_cap)
    err = filter_error(at_cap + " or id=4")
    assert f"more than {MAX_FILTER_TERMS} tests" in err.message


def test_in_list_cap() -> None:
    at_cap = "id in (" + ",".join(["3"] * MAX_IN_VALUES) + ")"
    assert len(at_cap) <= MAX_FILTER_LENGTH
    assert matches(at_cap)
    err = filter_error("id in (" + ",".join(["3"] * (MAX_IN_VALUES + 1)) + ")")
    assert f"more than {MAX_IN_VALUES} values in a list" in err.message


@pytest.mark.parametrize(
    ("text", "cost"),
    [
        ("", 0),
        ("id = 3", 1),
        ("id in (" + ",".join(str(i) for i in range(1000)) + ")", 1),  # one hash lookup
        ("id between 1 and 4", 2),
        ("id = 3 and (status = PENDING or not backup_id is null)", 3),
        ("backup_name like 'night%'", 6),
        ("backup_name ilike '%a%b%'", 14),
    ],
)
def test_filter_cost_per_record(text: str, cost: int) -> None:
    assert parse_filter(text, RESTORE_FIELDS).cost == cost


def test_the_work_budget_refuses_a_costly_filter_the_same_way_every_time() -> None:
    parsed = parse_filter("id = 1 or id = 2", RESTORE_FIELDS)  # 2 units a record
    parsed.check_work(FILTER_WORK_BUDGET // 2)  # exactly at the budget: allowed
    for _ in range(2):
        with pytest.raises(QRadarError) as info:
            parsed.check_work(FILTER_WORK_BUDGET // 2 + 1)
        assert info.value.code is codes.BAD_FILTER
        assert info.value.message == (
            'Failed to parse filter parameter "id = 1 or id = 2": too costly: 2 units per record '
            f"on {FILTER_WORK_BUDGET // 2 + 1} records is {FILTER_WORK_BUDGET + 2} units, over "
            f"the limit of {FILTER_WORK_BUDGET} per request; narrow the filter or the list"
        )
    parse_filter("", RESTORE_FIELDS).check_work(10**12)  # no filter, no work


_MEMBERS = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["true", "false", "TRUE", "1.0", "2.50", "-0", "1e0", "x", "PENDING"]),
)
_FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, width=32),
    st.sampled_from(["PENDING", "x", "1", "true"]),
    st.lists(st.sampled_from(["x", "PENDING", "1"]), max_size=3),
)


def _in_oracle(value: Any, members: list[Value], negated: bool) -> bool:
    """`in` as the filter grammar defines it, member by member (the evaluator before hashing)."""

    def test(v: Any) -> bool | None:
        results = [_compare(v, "=", m) for m in members]
        return None if all(r is None for r in results) else any(results)

    if value is None:
        return negated
    if isinstance(value, list):
        results = [test(e) for e in value]
        result = (
            None if results and all(r is None for r in results) else any(r is True for r in results)
        )
    else:
        result = test(value)
    return False if result is None else result != negated


@settings(max_examples=500, deadline=None)
@given(
    members=st.lists(st.tuples(_MEMBERS, st.booleans()), min_size=1, max_size=6),
    value=_FIELD_VALUES,
    negated=st.booleans(),
)
def test_in_list_matches_member_by_member(
    members: list[tuple[str, bool]], value: Any, negated: bool
) -> None:
    """The hashed `in` answers as comparing the value with each member in turn would."""
    written = [f'"{m}"' if quoted else m for m, quoted in members]
    listed = f"backup_name {'not ' if negated else ''}in ({', '.join(written)})"
    expected = _in_oracle(value, [Value.of(m, quoted) for m, quoted in members], negated)
    assert matches(listed, {**RESTORE, "backup_name": value}) == expected


def test_long_flat_filters_are_not_recursive() -> None:
    text = " and ".join(["id = 3"] * 300)
    assert len(text) < MAX_FILTER_LENGTH
    assert matches(text)


# ============================================================================ filter: properties


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_filter_parser_only_raises_qradar_errors(text: str) -> None:
    try:
        parsed = parse_filter(text, RESTORE_FIELDS)
    except QRadarError as err:
        raised: codes.Code | None = err.code
    else:
        raised = None
        parsed.matches(RESTORE)
        parsed.matches({})
    assert raised in (None, codes.BAD_FILTER)


FILTER_ALPHABET = "idgroups nameflag()=!<>^,'\"\\%_.-+0123456789eE" + "andornotinbetweenislikenull"


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *FILTER_ALPHABET,
                " and ",
                " or ",
                " not ",
                " in ",
                " between ",
                " is ",
                " null ",
                " like ",
                " ilike ",
                "id",
                "groups",
                "name",
                "flag",
                " = ",
                "(",
                ")",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_filter_parser_only_raises_qradar_errors_near_the_grammar(text: str) -> None:
    allowed = ("id", "name", "flag", "groups")
    try:
        parsed = parse_filter(text, allowed)
    except QRadarError as err:
        raised: codes.Code | None = err.code
    else:
        raised = None
        parsed.matches({"id": 1, "name": "a", "flag": True, "groups": ["A"]})
        parsed.matches({})
    assert raised in (None, codes.BAD_FILTER)


# A tiny independent model: an AST, its rendering, and a reference evaluator.
SCHEMA: dict[str, str] = {"id": "int", "name": "str", "flag": "bool", "groups": "list"}
NAME_ALPHABET = "ab%_'\" \\,()"
GROUPS = ["A", "B", "C"]


def values_for(field: str) -> st.SearchStrategy[Any]:
    kind = SCHEMA[field]
    if kind == "int":
        return st.integers(-5, 5)
    if kind == "bool":
        return st.booleans()
    if kind == "list":
        return st.sampled_from([*GROUPS, "D"])
    return st.text(NAME_ALPHABET, max_size=3)


fields_st = st.sampled_from(sorted(SCHEMA))
like_fields_st = st.sampled_from(["name", "groups"])
like_pattern_st = st.lists(
    st.sampled_from(["a", "b", "%", "_", "\\%", "\\_", "'", '"', " "]), max_size=5
)


@st.composite
def leaves(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["cmp", "in", "between", "null", "like"]))
    if kind == "like":
        return (
            "like",
            draw(like_fields_st),
            draw(like_pattern_st),
            draw(st.booleans()),
            draw(st.booleans()),
        )
    field = draw(fields_st)
    vals = values_for(field)
    if kind == "cmp":
        op = draw(st.sampled_from(["=", "!=", "<>", "^=", "<", ">", "<=", ">="]))
        return ("cmp", field, op, draw(vals))
    if kind == "in":
        return ("in", field, draw(st.lists(vals, min_size=1, max_size=3)), draw(st.booleans()))
    if kind == "between":
        return ("between", field, draw(vals), draw(vals), draw(st.booleans()))
    return ("null", field, draw(st.booleans()))


asts = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=8,
)


def render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z]+", text) and text.lower() not in ("and", "or", "not", "in", "is"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: tuple[Any, ...], upper: bool) -> str:
    def kw(word: str) -> str:
        return word.upper() if upper else word

    kind = node[0]
    if kind == "not":
        return f"{kw('not')} ({render(node[1], upper)})"
    if kind in ("and", "or"):
        return f" {kw(kind)} ".join(f"({render(n, upper)})" for n in node[1])
    if kind == "cmp":
        return f"{node[1]} {node[2]} {render_value(node[3])}"
    if kind == "in":
        neg = kw("not ") if node[3] else ""
        return f"{node[1]} {neg}{kw('in')} ({', '.join(render_value(v) for v in node[2])})"
    if kind == "between":
        neg = kw("not ") if node[4] else ""
        low, high = render_value(node[2]), render_value(node[3])
        return f"{node[1]} {neg}{kw('between')} {low} {kw('and')} {high}"
    if kind == "null":
        return f"{node[1]} {kw('is')} {kw('not ') if node[2] else ''}{kw('null')}"
    _, field, pattern, insensitive, negated = node
    body = "".join(pattern).replace('"', '\\"')
    word = kw("not ") * negated + kw("ilike" if insensitive else "like")
    return f'{field} {word} "{body}"'


def like_regex(pattern: list[str]) -> str:
    parts = []
    for piece in pattern:
        parts.append(
            ".*" if piece == "%" else "." if piece == "_" else re.escape(piece.lstrip("\\"))
        )
    return "".join(parts)


def reference(node: tuple[Any, ...], record: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "not":
        return not reference(node[1], record)
    if kind == "and":
        return all(reference(n, record) for n in node[1])
    if kind == "or":
        return any(reference(n, record) for n in node[1])
    field = node[1]
    value = record.get(field)
    if kind == "null":
        return bool((value is None) != node[2])

    def test(v: Any) -> bool:
        if kind == "cmp":
            op = "!=" if node[2] in ("<>", "^=") else node[2]
            op = "=" if op == "!=" else op
            return bool(
                {
                    "=": v == node[3],
                    "<": v < node[3],
                    ">": v > node[3],
                    "<=": v <= node[3],
                    ">=": v >= node[3],
                }[op]
            )
        if kind == "in":
            return bool(v in node[2])
        if kind == "between":
            return bool(node[2] <= v <= node[3])
        flags = re.DOTALL | (re.IGNORECASE if node[3] else 0)
        return re.fullmatch(like_regex(node[2]), v, flags) is not None

    negated = (kind == "cmp" and node[2] in ("!=", "<>", "^=")) or (
        kind in ("in", "like") and node[-1]
    )
    negated = negated or (kind == "between" and node[4])
    if value is None:
        return bool(negated)
    positive = any(test(e) for e in value) if isinstance(value, list) else test(value)
    return positive != bool(negated)


records_st = st.fixed_dictionaries(
    {},
    optional={
        "id": st.none() | st.integers(-6, 6),
        "name": st.none() | st.text("ab%_'\" \\,()AB", max_size=4),
        "flag": st.none() | st.booleans(),
        "groups": st.none() | st.lists(st.sampled_from(GROUPS), max_size=3),
    },
)


@settings(max_examples=400, deadline=None)
@given(asts, st.booleans(), st.lists(records_st, min_size=1, max_size=5))
def test_rendered_ast_parses_back_and_evaluates_like_the_reference(
    node: tuple[Any, ...], upper: bool, records: list[dict[str, Any]]
) -> None:
    text = render(node, upper)
    parsed = parse_filter(text, tuple(SCHEMA))
    for record in records:
        assert parsed.matches(record) is reference(node, record), (text, record)


@settings(max_examples=200, deadline=None)
@given(asts, st.lists(records_st, min_size=1, max_size=3))
def test_parsed_tree_renders_to_an_equivalent_filter(
    node: tuple[Any, ...], records: list[dict[str, Any]]
) -> None:
    parsed = parse_filter(render(node, upper=False), tuple(SCHEMA))
    assert parsed.expr is not None
    again = parse_filter(parsed.expr.render(), tuple(SCHEMA))
    for record in records:
        assert again.matches(record) is parsed.matches(record)


# ============================================================================ fields

CONFIG_SCHEMA: dict[str, Any] = {
    "configuration_id": None,
    "backup_directory_path": None,
    "data_backup_host_configuration": {
        "host_id": None,
        "event_data_backup_enabled": None,
        "flow_data_backup_enabled": None,
    },
}
CONFIG = {
    "configuration_id": 1,
    "backup_directory_path": "/store/backup",
    "data_backup_host_configuration": [
        {"host_id": 53, "event_data_backup_enabled": True, "flow_data_backup_enabled": False},
        {"host_id": 104, "event_data_backup_enabled": False, "flow_data_backup_enabled": True},
    ],
}


def fields_error(text: str, allowed: Any = RESTORE_FIELDS) -> QRadarError:
    with pytest.raises(QRadarError) as info:
        parse_fields(text, allowed)
    return info.value


def test_fields_keep_record_order_and_drop_the_rest() -> None:
    selection = parse_fields("status, id ,groups", RESTORE_FIELDS)
    assert selection.names == ("status", "id", "groups")
    assert list(selection.apply(RESTORE).items()) == [
        ("id", 3),
        ("status", "PENDING"),
        ("groups", ["DEPLOYMENT_CONFIG", "USERS_CONFIG"]),
    ]


def test_fields_absent_keys_are_omitted() -> None:
    assert parse_fields("id,backup_name", RESTORE_FIELDS).apply({"id": 1}) == {"id": 1}


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_fields_select_everything(text: str) -> None:
    selection = parse_fields(text, RESTORE_FIELDS)
    assert selection.selects_all
    assert selection.apply(RESTORE) == RESTORE
    assert selection.apply(RESTORE) is not RESTORE


@pytest.mark.parametrize(
    "text",
    [
        "configuration_id,data_backup_host_configuration(host_id)",
        "configuration_id, data_backup_host_configuration ( host_id )",
        "configuration_id,data_backup_host_configuration[host_id]",
    ],
)
def test_fields_sub_fields_apply_to_each_element(text: str) -> None:
    assert parse_fields(text, CONFIG_SCHEMA).apply(CONFIG) == {
        "configuration_id": 1,
        "data_backup_host_configuration": [{"host_id": 53}, {"host_id": 104}],
    }


def test_fields_sub_fields_on_a_single_object() -> None:
    schema = {"outer": {"a": None, "b": None}}
    selection = parse_fields("outer(b)", schema)
    assert selection.apply({"outer": {"a": 1, "b": 2}, "x": 0}) == {"outer": {"b": 2}}


def test_fields_whole_sub_object_without_brackets() -> None:
    selection = parse_fields("data_backup_host_configuration", CONFIG_SCHEMA)
    assert selection.apply(CONFIG) == {
        "data_backup_host_configuration": CONFIG["data_backup_host_configuration"]
    }


def unknown_body(name: str) -> dict[str, Any]:
    return {
        "message": f'Specified field "{name}" is not recognized by this endpoint for media type '
        '"application/json"',
        "details": {},
        "description": "",
        "code": 30,
        "http_response": UNPROCESSABLE,
    }


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("id,nope", "nope"),
        ("ID", "ID"),
        ("groups(value)", "value"),
        ("id(x)", "x"),
        ("id,,status", ""),
        ("id,", ""),
        (",id", ""),
        ("groups()", ""),
        ("id status", "id status"),
        ("id)", ")"),
        ("id(", ""),  # a sub-field of a scalar is named, here the empty one
        ("id,groups(a", "a"),
        ("id]", "]"),
    ],
)
def test_fields_unknown_or_malformed(text: str, name: str) -> None:
    err = fields_error(text)
    assert err.code is codes.UNKNOWN_FIELD
    assert err.body() == unknown_body(name)


def test_fields_sub_field_unknown_in_nested_schema() -> None:
    err = fields_error("data_backup_host_configuration(host_id,nope)", CONFIG_SCHEMA)
    assert err.body() == unknown_body("nope")
    err = fields_error("data_backup_host_configuration(host_id]", CONFIG_SCHEMA)
    assert err.body() == unknown_body("]")
    err = fields_error("configuration_id, data_backup_host_configuration( host_id ", CONFIG_SCHEMA)
    assert err.body() == unknown_body("data_backup_host_configuration( host_id")


@pytest.mark.parametrize(
    ("text", "name", "allowed"),
    [
        ("id,status,id", "id", RESTORE_FIELDS),
        ("id, id", "id", RESTORE_FIELDS),
        ("data_backup_host_configuration(host_id,host_id)", "host_id", CONFIG_SCHEMA),
        (
            "data_backup_host_configuration(host_id),data_backup_host_configuration",
            "data_backup_host_configuration",
            CONFIG_SCHEMA,
        ),
    ],
)
def test_fields_duplicates(text: str, name: str, allowed: Any) -> None:
    err = fields_error(text, allowed)
    assert err.code is codes.DUPLICATE_FIELD
    assert err.body() == {
        "message": f'fields parameter value "{text}" was invalid. Specified field "{name}" was '
        "used more than once at the same level",
        "details": {},
        "description": "",
        "code": 31,
        "http_response": UNPROCESSABLE,
    }


def test_fields_same_name_at_different_levels_is_fine() -> None:
    schema = {"host_id": None, "hosts": {"host_id": None}}
    selection = parse_fields("host_id,hosts(host_id)", schema)
    assert selection.apply({"host_id": 1, "hosts": [{"host_id": 2, "x": 3}]}) == {
        "host_id": 1,
        "hosts": [{"host_id": 2}],
    }


def test_fields_deep_nesting_is_refused() -> None:
    schema: dict[str, Any] = {"a": None}
    for _ in range(100):
        schema = {"a": schema}
    err = fields_error("a(" * 100 + "a" + ")" * 100, schema)
    assert err.code is codes.UNKNOWN_FIELD
    fields_error("(" * 5000)


@settings(max_examples=500, deadline=None)
@given(st.text() | st.text("idstauergop(),[] _"))
def test_fields_parser_only_raises_qradar_errors(text: str) -> None:
    for allowed in (RESTORE_FIELDS, CONFIG_SCHEMA):
        try:
            selection = parse_fields(text, allowed)
        except QRadarError as err:
            raised: codes.Code | None = err.code
        else:
            raised = None
            selection.apply(RESTORE)
            selection.apply(CONFIG)
        assert raised in (None, codes.UNKNOWN_FIELD, codes.DUPLICATE_FIELD)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(RESTORE_FIELDS), min_size=1, unique=True),
    st.sampled_from([",", ", ", " ,", " , "]),
)
def test_fields_selection_is_an_ordered_subset_preserving_values(
    names: list[str], comma: str
) -> None:
    selection = parse_fields(comma.join(names), RESTORE_FIELDS)
    out = selection.apply(RESTORE)
    assert set(out) == set(names)
    assert all(out[k] == RESTORE[k] for k in out)
    assert list(out) == [k for k in RESTORE if k in out]


def test_field_selection_of_none_is_everything() -> None:
    assert FieldSelection(None).names == ()


# ============================================================================ Range


@pytest.mark.parametrize(
    ("header", "total", "expected_slice", "content_range"),
    [
        ("items=0-4", 5, slice(0, 5), "items 0-4/5"),
        ("items=0-4", 12, slice(0, 5), "items 0-4/12"),
        ("items=0-99", 12, slice(0, 12), "items 0-11/12"),
        ("items=3-3", 12, slice(3, 4), "items 3-3/12"),
        ("items = 3-5", 12, slice(3, 6), "items 3-5/12"),
        (" items=3 - 5 ", 12, slice(3, 6), "items 3-5/12"),
        ("ITEMS=1-2", 12, slice(1, 3), "items 1-2/12"),
        ("items=5-9", 3, slice(0, 0), "items */3"),
        ("items=3-9", 3, slice(0, 0), "items */3"),
        ("items=0-0", 0, slice(0, 0), "items */0"),
        ("items=007-8", 12, slice(7, 9), "items 7-8/12"),
        ("items=0-999999999999999999", 2, slice(0, 2), "items 0-1/2"),
    ],
)
def test_range_windows(header: str, total: int, expected_slice: slice, content_range: str) -> None:
    spec = parse_range(header)
    assert spec is not None
    assert spec.window(total) == (expected_slice, content_range)


def test_no_range_header_means_everything() -> None:
    assert parse_range(None) is None
    assert full_window(12) == (slice(0, 12), "items 0-11/12")
    assert full_window(1) == (slice(0, 1), "items 0-0/1")
    assert full_window(0) == (slice(0, 0), "items */0")


BAD_RANGE_BODY = {
    "message": "Failed to parse Range header. The syntax of the Range header must follow this "
    "pattern: items=x-y",
    "details": {},
    "description": "",
    "code": 36,
    "http_response": UNPROCESSABLE,
}


@pytest.mark.parametrize(
    "header",
    [
        "items=-3-2",
        "bytes=0-1",
        "items=a-b",
        "items=3-",
        "items=-5",
        "items=3",
        "items 0-4",
        "items=0-4,6-8",
        "items=+1-2",
        "items=1.0-2",
        "items=\u0661-\u0662",
        "items=0-1234567890123456789",
        "",
        "   ",
        "items=",
    ],
)
def test_malformed_range(header: str) -> None:
    with pytest.raises(QRadarError) as info:
        parse_range(header)
    assert info.value.body() == BAD_RANGE_BODY


def test_negative_range() -> None:
    with pytest.raises(QRadarError) as info:
        parse_range("items=3-0")
    assert info.value.body() == {
        "message": 'Range of pages specified in "Range" header is negative. Non-negative page '
        "range must be specified.",
        "details": {},
        "description": "",
        "code": 37,
        "http_response": UNPROCESSABLE,
    }


def test_negative_total_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        RangeSpec(0, 1).window(-1)
    with pytest.raises(ValueError, match="negative"):
        full_window(-1)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 10**18 - 1),
    st.integers(0, 10**18 - 1),
    st.integers(0, 300),
    st.sampled_from(["items={}-{}", "items = {}-{}", "items={} - {}"]),
)
def test_range_matches_python_slicing(a: int, b: int, total: int, template: str) -> None:
    start, end = min(a, b) % 400 if a % 3 else min(a, b), max(a, b)
    if end < start:
        end = start
    spec = parse_range(template.format(start, end))
    assert spec == RangeSpec(start, end)
    window, content_range = spec.window(total)
    items = list(range(total))
    assert items[window] == items[start : end + 1]
    if start >= total:
        assert content_range == f"items */{total}"
    else:
        assert content_range == f"items {start}-{min(end, total - 1)}/{total}"


@settings(max_examples=500, deadline=None)
@given(st.text() | st.text("items=-0123456789 ,"))
def test_range_parser_only_raises_qradar_errors(header: str) -> None:
    try:
        spec = parse_range(header)
    except QRadarError as err:
        raised: codes.Code | None = err.code
    else:
        raised = None
        assert spec is not None
        assert 0 <= spec.start <= spec.end
    assert raised in (None, codes.BAD_RANGE, codes.NEGATIVE_RANGE)


# ============================================================================ sort

SORT_ERROR = QRadarError.at(EndpointId.RESTORES_LIST, 1018)


def sort_keys(text: str) -> tuple[SortKey, ...]:
    return parse_sort(text, RESTORE_SORTABLE, SORT_ERROR)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id", (SortKey("id"),)),
        ("+id", (SortKey("id"),)),
        (" id", (SortKey("id"),)),
        ("-id", (SortKey("id", True),)),
        (
            "-backup_version,+time_initiated",
            (SortKey("backup_version", True), SortKey("time_initiated")),
        ),
        ("-id, time_initiated", (SortKey("id", True), SortKey("time_initiated"))),
        ("-id, -time_initiated", (SortKey("id", True), SortKey("time_initiated", True))),
        ("i\\d", (SortKey("id"),)),
        ("", ()),
        ("  ", ()),
    ],
)
def test_parse_sort(text: str, expected: tuple[SortKey, ...]) -> None:
    assert sort_keys(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "status",
        "nope",
        "id,",
        ",id",
        "id,,initiated_by",
        "+",
        "-",
        "id\\",
        "\\-id",
        "+-id",
        "id desc",
        "(id)",
        "i\\,d",
        "ID",
    ],
)
def test_parse_sort_raises_the_endpoints_error(text: str) -> None:
    with pytest.raises(QRadarError) as info:
        sort_keys(text)
    assert info.value is SORT_ERROR
    assert info.value.body()["code"] == 1018
    assert info.value.http_status == 422


def test_parse_sort_escaped_names() -> None:
    keys = parse_sort("-a\\,b,c\\(d\\),e\\\\f", ["a,b", "c(d)", "e\\f"], SORT_ERROR)
    assert keys == (SortKey("a,b", True), SortKey("c(d)"), SortKey("e\\f"))


def test_sort_records_applies_keys_left_to_right_stably() -> None:
    records: list[dict[str, Any]] = [
        {"n": 0, "a": 2, "b": "x"},
        {"n": 1, "a": 1, "b": "y"},
        {"n": 2, "a": 2, "b": "w"},
        {"n": 3, "a": 1, "b": "y"},
        {"n": 4, "a": None, "b": "z"},
    ]
    ordered = sort_records(records, (SortKey("a"), SortKey("b", True)))
    assert [r["n"] for r in ordered] == [4, 1, 3, 0, 2]
    ordered = sort_records(records, (SortKey("a", True),))
    assert [r["n"] for r in ordered] == [0, 2, 1, 3, 4]
    assert sort_records(records, ()) == records


def test_sort_records_nulls_first_ascending_and_missing_is_null() -> None:
    records: list[dict[str, Any]] = [{"t": 5}, {"t": None}, {}, {"t": 1}]
    assert sort_records(records, (SortKey("t"),)) == [{"t": None}, {}, {"t": 1}, {"t": 5}]
    assert sort_records(records, (SortKey("t", True),)) == [{"t": 5}, {"t": 1}, {"t": None}, {}]


def test_sort_records_strings_and_booleans() -> None:
    names: list[dict[str, Any]] = [{"s": "b"}, {"s": "B"}, {"s": "a"}]
    assert sort_records(names, (SortKey("s"),)) == [{"s": "B"}, {"s": "a"}, {"s": "b"}]
    flags: list[dict[str, Any]] = [{"f": True}, {"f": False}]
    assert sort_records(flags, (SortKey("f"),)) == [{"f": False}, {"f": True}]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({}, optional={"a": json_values, "b": json_values})),
    st.lists(st.builds(SortKey, st.sampled_from(["a", "b"]), st.booleans()), max_size=3),
)
def test_sort_records_never_crashes_and_permutes(
    records: list[dict[str, Any]], keys: list[SortKey]
) -> None:
    ordered = sort_records(records, keys)
    assert len(ordered) == len(records)
    assert sorted(map(id, ordered)) == sorted(map(id, records))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.integers(-50, 50)))
def test_sort_records_orders_integers_with_nulls_first(values: list[int | None]) -> None:
    records = [{"v": v, "i": i} for i, v in enumerate(values)]
    ordered = sort_records(records, (SortKey("v"),))
    expected = sorted(records, key=lambda r: (r["v"] is not None, r["v"] or 0))
    assert ordered == expected


def test_the_filter_language_loads_on_first_use_and_is_the_same_through_query() -> None:
    """`bre serve` starts without `engine.core.filters`; its names reach callers of
    `engine.core.query` unchanged."""
    import subprocess
    import sys

    from engine.core import filters, query

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, engine.core.query, engine.api.handlers; "
         "print('engine.core.filters' in sys.modules)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert loaded == "False"
    assert query.parse_filter is filters.parse_filter
    assert query.Node is filters.Node
    with pytest.raises(AttributeError):
        _ = query.no_such_name  # type: ignore[attr-defined]  # mypy: not a name of query
