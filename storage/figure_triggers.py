"""The figures' summary tables, kept by the database itself as items change.

/stats and /report read counts, never a million items: every insert, update or delete of
an item adjusts the summary rows it falls in (``fig_points``, ``fig_domains``,
``fig_kinds``, ``fig_ratings``, ``fig_decisions``, ``fig_departments``,
``fig_observers``), in the same transaction, by triggers. Triggers,
not Python: the bot sends no statement more per move (issue 17's budget), and an item
changed by any code — a service, the CLI, an operator's SQL — keeps the figures right.

Each summary is one :class:`Summary`: its key (expressions over the item's row), which
items it counts, and what it adds up. From that one description come the triggers of
both dialects and the recount (``INSERT … SELECT … GROUP BY``) that ``outpost figures
--rebuild`` and the tests compare them with. Keys hold no NULL (a unique key would not
match NULLs): 0, ``''``, -1 and 1970-01-01 stand for "none".

Local days (``submitted_day``, ``decided_day``: yyyymmdd in the office's time zone) are
written on the item by the service, which knows the zone; the database only copies them.

On PostgreSQL an update touches the smaller of its old and new keys first, so two
transactions moving items never wait on each other's summary rows in opposite orders.
This module imports nothing of the project: the migration that made the tables keeps a
copy of what it printed then.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SUMMARIES",
    "Summary",
    "columns",
    "create_statements",
    "drop_statements",
    "rating_recount_statement",
    "recount_query",
    "recount_statements",
]

# The day that stands for "no date" in a key.
NO_DATE = "1970-01-01"


@dataclass(frozen=True, slots=True)
class Summary:
    table: str
    # (column, expression over the item's row, written with {r} for the row)
    keys: tuple[tuple[str, str], ...]
    # Which items it counts (over {r}); None: every item.
    when: str | None
    # (column, what one item adds) — summed.
    sums: tuple[tuple[str, str], ...]
    # (column, expression) kept as the greatest seen; never lowered (items are not deleted
    # but by erasure, after which ``--rebuild`` recounts).
    greatest: tuple[tuple[str, str], ...] = ()


def _flag(column: str) -> str:
    return f"CASE WHEN {{r}}.{column} IS NULL THEN -1 WHEN {{r}}.{column} THEN 1 ELSE 0 END"


_OFFICE = (("office_id", "{r}.office_id"), ("above_id", "COALESCE({r}.above_id, 0)"))
_MONTH = ("month", "{r}.submitted_day / 100")
_ADOPTED = "{r}.disposition = 'adopted'"

_OUTCOME = (("status", "{r}.status"), ("disposition", "COALESCE({r}.disposition, '')"))

# Each figure reads the narrowest summary that answers it: a year of a million items is
# a few thousand rows in each (points × months × outcomes at most).
SUMMARIES: tuple[Summary, ...] = (
    Summary(
        "fig_points",
        (*_OFFICE, _MONTH, ("point_id", "COALESCE({r}.point_id, 0)"), *_OUTCOME),
        None,
        (("n", "1"),),
    ),
    Summary(
        "fig_domains", (*_OFFICE, _MONTH, ("domain", "{r}.domain"), *_OUTCOME), None, (("n", "1"),)
    ),
    Summary("fig_kinds", (*_OFFICE, _MONTH, ("kind", "{r}.kind")), None, (("n", "1"),)),
    Summary(
        "fig_ratings",
        (*_OFFICE, _MONTH, ("rating", "{r}.rating")),
        "{r}.rating IS NOT NULL",
        (("n", "1"),),
    ),
    Summary(
        "fig_decisions",
        (
            *_OFFICE,
            ("submitted_day", "{r}.submitted_day"),
            ("decided_day", "COALESCE({r}.decided_day, 0)"),
            ("on_time", _flag("decided_on_time")),
        ),
        "({r}.decided_day IS NOT NULL OR {r}.decided_on_time IS NOT NULL)",
        (("n", "1"),),
    ),
    Summary(
        "fig_departments",
        (
            *_OFFICE,
            _MONTH,
            ("department_id", "COALESCE({r}.department_id, 0)"),
            ("on_time", _flag("implemented_on_time")),
            ("implemented", "CASE WHEN {r}.implemented_at IS NULL THEN 0 ELSE 1 END"),
            (
                "open_due",
                "CASE WHEN {r}.status IN ('adopted', 'implementing') AND "
                f"{{r}}.implementation_due IS NOT NULL THEN {{r}}.implementation_due "
                f"ELSE '{NO_DATE}' END",
            ),
        ),
        f"COALESCE({_ADOPTED}, FALSE)",
        (("n", "1"),),
    ),
    Summary(
        "fig_observers",
        (("office_id", "{r}.office_id"), ("observer_id", "{r}.observer_id"), _MONTH),
        None,
        (("filed", "1"), ("adopted", f"CASE WHEN {_ADOPTED} THEN 1 ELSE 0 END")),
        (("last_at", "{r}.submitted_at"),),
    ),
)

# The item's latest rating, written on the item: the summaries read it from there.
_RATING_NAME = "suggestions_latest_rating"


def _at(expression: str, row: str) -> str:
    return expression.replace("{r}", row)


def _when(s: Summary, row: str) -> str:
    return _at(s.when, row) if s.when else "TRUE"


def _upsert(s: Summary, row: str, dialect: str, select: bool) -> str:
    columns = [c for c, _e in s.keys] + [c for c, _e in s.sums] + [c for c, _e in s.greatest]
    values = [_at(e, row) for _c, e in (*s.keys, *s.sums, *s.greatest)]
    greatest = "MAX" if dialect == "sqlite" else "GREATEST"
    sets = [f"{c} = {s.table}.{c} + excluded.{c}" for c, _e in s.sums]
    sets += [f"{c} = {greatest}({s.table}.{c}, excluded.{c})" for c, _e in s.greatest]
    source = (
        f"SELECT {', '.join(values)} WHERE {_when(s, row)}"
        if select
        else f"VALUES ({', '.join(values)})"
    )
    return (
        f"INSERT INTO {s.table} ({', '.join(columns)}) {source} "
        f"ON CONFLICT ({', '.join(c for c, _e in s.keys)}) DO UPDATE SET {', '.join(sets)}"
    )


def _lower(s: Summary, row: str, guarded: bool) -> str:
    sets = ", ".join(f"{c} = {c} - {_at(e, row)}" for c, e in s.sums)
    match = " AND ".join(f"{c} = {_at(e, row)}" for c, e in s.keys)
    guard = f" AND {_when(s, row)}" if guarded else ""
    return f"UPDATE {s.table} SET {sets} WHERE {match}{guard}"


def _changed(s: Summary) -> str:
    """Whether an update moved the item out of its key, in or out of the summary, or
    changed what it adds up."""
    moved = [e for _c, e in (*s.keys, *s.sums, *s.greatest) if "{r}" in e]
    same = [f"({_at(e, 'OLD')}) IS ({_at(e, 'NEW')})" for e in moved]
    if s.when:
        same.append(f"({_when(s, 'OLD')}) IS ({_when(s, 'NEW')})")
    return "NOT (" + " AND ".join(same) + ")"


def _sqlite(s: Summary) -> list[str]:
    insert = f"AFTER INSERT ON suggestions FOR EACH ROW WHEN {_when(s, 'NEW')}"
    delete = f"AFTER DELETE ON suggestions FOR EACH ROW WHEN {_when(s, 'OLD')}"
    update = f"AFTER UPDATE ON suggestions FOR EACH ROW WHEN {_changed(s)}"
    return [
        f"CREATE TRIGGER {s.table}_insert {insert} BEGIN "
        f"{_upsert(s, 'NEW', 'sqlite', select=False)}; END",
        f"CREATE TRIGGER {s.table}_update {update} BEGIN "
        f"{_lower(s, 'OLD', guarded=True)}; "
        f"{_upsert(s, 'NEW', 'sqlite', select=True)}; END",
        f"CREATE TRIGGER {s.table}_delete {delete} BEGIN {_lower(s, 'OLD', guarded=False)}; END",
    ]


def _postgresql(s: Summary) -> list[str]:
    old_key = ", ".join(_at(e, "OLD") for _c, e in s.keys)
    new_key = ", ".join(_at(e, "NEW") for _c, e in s.keys)
    lower = f"IF {_when(s, 'OLD')} THEN {_lower(s, 'OLD', guarded=False)}; END IF;"
    raise_ = f"IF {_when(s, 'NEW')} THEN {_upsert(s, 'NEW', 'postgresql', select=False)}; END IF;"
    same = _changed(s).replace(") IS (", ") IS NOT DISTINCT FROM (")
    body = f"""
BEGIN
  IF TG_OP = 'INSERT' THEN
    {raise_}
  ELSIF TG_OP = 'DELETE' THEN
    {lower}
  ELSIF {same} THEN
    IF ROW({old_key}) < ROW({new_key}) THEN
      {lower}
      {raise_}
    ELSE
      {raise_}
      {lower}
    END IF;
  END IF;
  RETURN NULL;
END"""
    return _pg_trigger(f"{s.table}_keep", "INSERT OR UPDATE OR DELETE", "suggestions", body)


def _pg_trigger(name: str, events: str, table: str, body: str) -> list[str]:
    """A PostgreSQL trigger and the function it runs, both called ``name``."""
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$",
        f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
    ]


def _rating(dialect: str) -> list[str]:
    latest = (
        "(SELECT value FROM ratings WHERE suggestion_id = {row}.suggestion_id "
        "ORDER BY id DESC LIMIT 1)"
    )
    set_latest = (
        "UPDATE suggestions SET rating = " + latest + " WHERE id = {row}.suggestion_id "
        "AND rating IS DISTINCT FROM " + latest
    )
    if dialect == "sqlite":
        set_latest = set_latest.replace("IS DISTINCT FROM", "IS NOT")
        return [
            f"CREATE TRIGGER {_RATING_NAME}_insert AFTER INSERT ON ratings FOR EACH ROW "
            f"BEGIN {set_latest.format(row='NEW')}; END",
            f"CREATE TRIGGER {_RATING_NAME}_delete AFTER DELETE ON ratings FOR EACH ROW "
            f"BEGIN {set_latest.format(row='OLD')}; END",
        ]
    body = f"""
BEGIN
  IF TG_OP = 'DELETE' THEN
    {set_latest.format(row="OLD")};
  ELSE
    {set_latest.format(row="NEW")};
  END IF;
  RETURN NULL;
END"""
    return _pg_trigger(_RATING_NAME, "INSERT OR DELETE", "ratings", body)


def create_statements(dialect: str) -> list[str]:
    """The triggers (and PostgreSQL's trigger functions) that keep every summary."""
    made: list[str] = []
    for s in SUMMARIES:
        made += _sqlite(s) if dialect == "sqlite" else _postgresql(s)
    return made + _rating(dialect)


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        names = [f"{s.table}_{op}" for s in SUMMARIES for op in ("insert", "update", "delete")]
        names += [f"{_RATING_NAME}_insert", f"{_RATING_NAME}_delete"]
        return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
    made = [f"DROP TRIGGER IF EXISTS {s.table}_keep ON suggestions" for s in SUMMARIES]
    made += [f"DROP FUNCTION IF EXISTS {s.table}_keep()" for s in SUMMARIES]
    made += [
        f"DROP TRIGGER IF EXISTS {_RATING_NAME} ON ratings",
        f"DROP FUNCTION IF EXISTS {_RATING_NAME}()",
    ]
    return made


def recount_query(s: Summary) -> str:
    """The summary's rows as the items give them now: what its triggers must keep."""
    keys = [_at(e, "r") for _c, e in s.keys]
    sums = [f"SUM({_at(e, 'r')})" for _c, e in s.sums]
    greatest = [f"MAX({_at(e, 'r')})" for _c, e in s.greatest]
    where = f" WHERE {_when(s, 'r')}" if s.when else ""
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    return (
        f"SELECT {', '.join(keys + sums + greatest)} FROM suggestions r{where} GROUP BY {positions}"
    )


def columns(s: Summary) -> list[str]:
    return [c for c, _e in (*s.keys, *s.sums, *s.greatest)]


def recount_statements() -> list[str]:
    """Every summary emptied and counted again from the items (both dialects)."""
    made: list[str] = []
    for s in SUMMARIES:
        made.append(f"DELETE FROM {s.table}")
        made.append(f"INSERT INTO {s.table} ({', '.join(columns(s))}) {recount_query(s)}")
    return made


def rating_recount_statement() -> str:
    """Every item's latest rating written on it again."""
    return (
        "UPDATE suggestions SET rating = (SELECT value FROM ratings "
        "WHERE ratings.suggestion_id = suggestions.id ORDER BY id DESC LIMIT 1) "
        "WHERE rating IS NOT NULL OR id IN (SELECT suggestion_id FROM ratings)"
    )
