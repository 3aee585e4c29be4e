"""A report spec checked against the dataset registry and turned into one SQL statement.

A spec is `{"dataset", "columns", "filters": [{"field", "op", "value"}], "group_by", "sort":
[{"field", "direction"}], "params": {"as_of"}}`. Everything named is looked up in the registry; anything
unknown is a 422 on its field (`/columns/2`, `/filters/0/field`, …), so no text of the spec reaches the
SQL: values are bound parameters. The business filter is in the dataset's source and the scope filter is
added here, so a filter can narrow the rows but never reach another business's or another subtree's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.domains.reports.custom.datasets import DATASETS, Dataset
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_

GROUPS = ("account", "subtree", "channel", "day", "week", "month")
GROUP_LABELS = {
    "account": N_("Account"),
    "subtree": N_("Subtree"),
    "channel": N_("Channel"),
    "day": N_("Day"),
    "week": N_("Week"),
    "month": N_("Month"),
}
OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "contains": "ILIKE", "in": "IN"}
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _refuse(pointer: str, message: str, field_message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        message,
        params=params,
        code="invalid_report",
        errors=[FieldError(pointer, field_message, params=params)],
    )


@dataclass(frozen=True)
class OutputColumn:
    name: str
    label: str
    type: str


@dataclass(frozen=True)
class Query:
    dataset: Dataset
    sql: str
    totals_sql: str
    args: list[Any]
    columns: list[OutputColumn]
    grouped: bool


def _list(spec: dict[str, Any], key: str) -> list[Any]:
    value = spec.get(key) or []
    if not isinstance(value, list):
        raise _refuse(f"/{key}", N_("%(field)s must be a list."), N_("must be a list"), field=key)
    return value


def _day(value: Any, pointer: str) -> date:
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _refuse(pointer, N_("Give a date as YYYY-MM-DD."), N_("not a date"))


def check_spec(spec: Any) -> dict[str, Any]:
    """The spec with every name checked against the registry (422 on the first unknown field)."""
    if not isinstance(spec, dict):
        raise _refuse("", N_("A report is an object."), N_("must be an object"))
    unknown = sorted(set(spec) - {"dataset", "columns", "filters", "group_by", "sort", "params", "name"})
    if unknown:
        raise _refuse(f"/{unknown[0]}", N_("Unknown field %(field)s."), N_("unknown field"), field=unknown[0])
    dataset = DATASETS.get(str(spec.get("dataset")))
    if dataset is None:
        raise _refuse(
            "/dataset",
            N_("Unknown dataset %(dataset)s."),
            N_("unknown dataset"),
            dataset=str(spec.get("dataset"))[:40],
        )
    columns = _list(spec, "columns") or list(dataset.default_columns)
    for i, name in enumerate(columns):
        if name not in dataset.columns:
            raise _refuse(
                f"/columns/{i}", N_("Unknown column %(column)s."), N_("unknown column"), column=str(name)[:40]
            )
    group_by = _list(spec, "group_by")
    for i, name in enumerate(group_by):
        if name not in GROUPS and not (name in dataset.columns and dataset.columns[name].type == "text"):
            raise _refuse(
                f"/group_by/{i}",
                N_("Cannot group by %(group)s."),
                N_("unknown grouping"),
                group=str(name)[:40],
            )
        if name in ("day", "week", "month") and not dataset.time_column:
            raise _refuse(
                f"/group_by/{i}", N_("Cannot group by %(group)s."), N_("no time in this dataset"), group=name
            )
        if name == "channel" and not dataset.channel_column:
            raise _refuse(
                f"/group_by/{i}",
                N_("Cannot group by %(group)s."),
                N_("no channel in this dataset"),
                group=name,
            )
    if group_by:
        for i, name in enumerate(columns):
            if dataset.columns[name].type not in ("money", "int") and name not in group_by:
                raise _refuse(
                    f"/columns/{i}",
                    N_("When grouping, %(column)s must be a grouping or a number to total."),
                    N_("not a total"),
                    column=name,
                )
    filters = _list(spec, "filters")
    for i, item in enumerate(filters):
        if not isinstance(item, dict) or item.get("field") not in dataset.columns:
            field = item.get("field") if isinstance(item, dict) else None
            raise _refuse(
                f"/filters/{i}/field",
                N_("Unknown filter %(field)s."),
                N_("unknown filter"),
                field=str(field)[:40],
            )
        if item.get("op", "eq") not in OPS:
            raise _refuse(
                f"/filters/{i}/op",
                N_("Unknown operator %(op)s."),
                N_("unknown operator"),
                op=str(item.get("op"))[:20],
            )
    outputs = set(columns) | set(group_by) | {"count"}
    for i, item in enumerate(_list(spec, "sort")):
        if not isinstance(item, dict) or item.get("field") not in outputs:
            field = item.get("field") if isinstance(item, dict) else None
            raise _refuse(
                f"/sort/{i}/field",
                N_("Cannot sort by %(field)s."),
                N_("not a column of the report"),
                field=str(field)[:40],
            )
        if item.get("direction", "asc") not in ("asc", "desc"):
            raise _refuse(f"/sort/{i}/direction", N_("Sort asc or desc."), N_("asc or desc"))
    params = spec.get("params") or {}
    if not isinstance(params, dict) or set(params) - {"as_of"}:
        raise _refuse("/params", N_("Unknown report parameter."), N_("unknown parameter"))
    if dataset.takes_date and "as_of" in params:
        _day(params["as_of"], "/params/as_of")
    return {
        **spec,
        "columns": columns,
        "group_by": group_by,
        "filters": filters,
        "sort": _list(spec, "sort"),
        "params": params,
    }


def _value(dataset: Dataset, item: dict[str, Any], pointer: str) -> Any:
    column = dataset.columns[item["field"]]
    value = item.get("value")
    op = item.get("op", "eq")
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > 100:
            raise _refuse(pointer, N_("“in” takes a list of 1 to 100 values."), N_("1 to 100 values"))
        return [_one(column.type, v, pointer) for v in value]
    if op == "contains":
        if column.type != "text":
            raise _refuse(pointer, N_("“contains” applies to text."), N_("text only"))
        text = str(value or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{text}%"
    return _one(column.type, value, pointer)


def _one(type_: str, value: Any, pointer: str) -> Any:
    if type_ in ("money", "int"):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _refuse(pointer, N_("The value must be a whole number."), N_("must be a whole number"))
        return value
    if type_ == "datetime":
        return _day(value, pointer)
    if not isinstance(value, str) or len(value) > 200:
        raise _refuse(
            pointer,
            N_("The value must be text of at most 200 characters."),
            N_("text of at most 200 characters"),
        )
    return value


def build(actor: Actor, spec: dict[str, Any], *, today: date, page: int = 1, size: int = PAGE_SIZE) -> Query:
    """One SQL statement for a checked spec, in the actor's business and scope, one page of rows."""
    dataset: Dataset = DATASETS[spec["dataset"]]
    args: list[Any] = [actor.business_id]
    if dataset.takes_date:
        as_of = spec["params"].get("as_of")
        args.append(_day(as_of, "/params/as_of") if as_of else today)
    where: list[str] = []
    for i, item in enumerate(spec["filters"]):
        column = dataset.columns[item["field"]]
        op = item.get("op", "eq")
        args.append(_value(dataset, item, f"/filters/{i}/value"))
        n = len(args)
        if op == "in":
            where.append(f"{column.sql} = ANY(${n})")
        elif op == "contains":
            where.append(f"{column.sql} ILIKE ${n}")
        elif column.type == "datetime":
            # A day in Jakarta time: `lt`/`lte` compare with its start/end.
            start = f"(${n}::date::timestamp AT TIME ZONE 'Asia/Jakarta')"
            end = f"((${n}::date + 1)::timestamp AT TIME ZONE 'Asia/Jakarta')"
            where.append(
                {
                    "eq": f"({column.sql} >= {start} AND {column.sql} < {end})",
                    "ne": f"({column.sql} < {start} OR {column.sql} >= {end})",
                    "gt": f"{column.sql} >= {end}",
                    "gte": f"{column.sql} >= {start}",
                    "lt": f"{column.sql} < {start}",
                    "lte": f"{column.sql} < {end}",
                }[op]
            )
        else:
            where.append(f"{column.sql} {OPS[op]} ${n}")
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        n = len(args)
        either = " OR ".join(
            f"EXISTS (SELECT 1 FROM account sa WHERE sa.business_id = $1 "
            f"AND sa.id = {dataset.columns[c].sql} AND sa.path LIKE ${n} AND sa.kind <> 'system')"
            for c in dataset.scope_columns
        )
        where.append(f"({either})")
    group_exprs: dict[str, str] = {}
    account_sql = dataset.columns[dataset.account_column].sql if dataset.account_column else "NULL"
    for name in spec["group_by"]:
        if name == "account":
            group_exprs[name] = account_sql
        elif name == "subtree":
            # The child of the actor's root (the main account, or the scope's root) the account sits under;
            # the root itself stands for its own subtree.
            root = f"coalesce(${_scope_arg(args, actor)}::text, split_part(ga.path, '/', 2))"
            group_exprs[name] = (
                "(SELECT coalesce(nullif((string_to_array(ga.path, '/'))"
                f"[array_position(string_to_array(ga.path, '/'), {root}) + 1], ''), ga.id) "
                f"FROM account ga WHERE ga.business_id = $1 AND ga.id = {account_sql})"
            )
        elif name == "channel":
            group_exprs[name] = dataset.columns[dataset.channel_column or ""].sql
        elif name in ("day", "week", "month"):
            time_sql = dataset.columns[dataset.time_column or ""].sql
            group_exprs[name] = f"date_trunc('{name}', {time_sql} AT TIME ZONE 'Asia/Jakarta')::date"
        else:
            group_exprs[name] = dataset.columns[name].sql
    outputs: list[OutputColumn] = []
    selects: list[str] = []
    if spec["group_by"]:
        for name, expr in group_exprs.items():
            selects.append(f"{expr} AS {name}")
            label = dataset.columns[name].label if name in dataset.columns else GROUP_LABELS[name]
            outputs.append(OutputColumn(name, label, "date" if name in ("day", "week", "month") else "text"))
        for name in spec["columns"]:
            if name in group_exprs:
                continue
            column = dataset.columns[name]
            selects.append(f"coalesce(sum({column.sql}), 0)::bigint AS {name}")
            outputs.append(OutputColumn(name, column.label, column.type))
        selects.append("count(*) AS count")
        outputs.append(OutputColumn("count", N_("Count"), "int"))
    else:
        for name in spec["columns"]:
            column = dataset.columns[name]
            selects.append(f"{column.sql} AS {name}")
            outputs.append(OutputColumn(name, column.label, column.type))
    order = [f"{item['field']} {item.get('direction', 'asc').upper()} NULLS LAST" for item in spec["sort"]]
    if not order:
        order = [f"{o.name}" for o in outputs[: len(group_exprs)]] if spec["group_by"] else ["1"]
    body = f"FROM ({dataset.source}) s" + (f" WHERE {' AND '.join(where)}" if where else "")
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(group_exprs)))}" if spec["group_by"] else ""
    size = max(1, min(size, MAX_PAGE_SIZE))
    base = f"SELECT {', '.join(selects)} {body}{group}"
    sql_text = f"{base} ORDER BY {', '.join(order)} LIMIT {size + 1} OFFSET {(max(page, 1) - 1) * size}"
    sums = [f"coalesce(sum(q.{o.name}), 0)::bigint AS {o.name}" for o in outputs if o.type == "money"]
    totals_sql = f"SELECT {', '.join(['count(*) AS rows', *sums])} FROM ({base}) q"
    return Query(dataset, sql_text, totals_sql, args, outputs, bool(spec["group_by"]))


def _scope_arg(args: list[Any], actor: Actor) -> int:
    """The position of the actor's scope root as a parameter (NULL: the main account)."""
    args.append(actor.scope_account_id)
    return len(args)
