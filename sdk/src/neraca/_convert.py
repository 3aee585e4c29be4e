"""Turn decoded JSON into the SDK's dataclass models.

Tolerant where the contract allows growth (unknown fields are ignored and kept in ``raw``), strict where
money is at stake (an amount must be a JSON integer, never a float or a string).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

__all__ = ["ConversionError", "construct", "parse_date", "parse_datetime"]

T = TypeVar("T")

_MISSING = object()


class ConversionError(ValueError):
    """The JSON does not fit the model; ``path`` says where (``transfers[2].amount``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware datetime (naive input is taken as UTC, per contract)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_date(value: str) -> date:
    """Parse a ``YYYY-MM-DD`` calendar date."""
    return date.fromisoformat(value)


_Field = tuple[str, Any, "Callable[[], Any] | None"]
_MODEL_FIELDS: dict[type[Any], tuple[tuple[_Field, ...], bool]] = {}


def _model_fields(cls: type[Any]) -> tuple[tuple[_Field, ...], bool]:
    """(name, type, default factory or None) per field except ``raw``, and whether ``raw`` exists.

    Resolved once per class: get_type_hints is slow and models are decoded on every response.
    """
    cached = _MODEL_FIELDS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    fields: list[_Field] = []
    has_raw = False
    for f in dataclasses.fields(cls):
        if f.name == "raw":
            has_raw = True
            continue
        factory: Callable[[], Any] | None = None
        if f.default is not dataclasses.MISSING:
            factory = functools.partial(_identity, f.default)
        elif f.default_factory is not dataclasses.MISSING:
            factory = f.default_factory
        fields.append((f.name, hints[f.name], factory))
    result = (tuple(fields), has_raw)
    _MODEL_FIELDS[cls] = result
    return result


def _identity(value: Any) -> Any:
    return value


def construct(cls: type[T], data: Any, *, path: str = "") -> T:
    """Build dataclass ``cls`` from a decoded JSON object, validating the types the contract promises."""
    if not isinstance(data, dict):
        raise ConversionError(path, f"expected an object for {cls.__name__}, got {type(data).__name__}")
    fields, has_raw = _model_fields(cls)
    kwargs: dict[str, Any] = {}
    for name, tp, default_factory in fields:
        value = data.get(name, _MISSING)
        field_path = f"{path}.{name}" if path else name
        if value is _MISSING or value is None:
            if _is_optional(tp):
                kwargs[name] = None
                continue
            if default_factory is not None:
                kwargs[name] = default_factory()
                continue
            raise ConversionError(field_path, "is missing" if value is _MISSING else "must not be null")
        kwargs[name] = _convert(tp, value, field_path)
    if has_raw:
        kwargs["raw"] = data
    return cls(**kwargs)


def _is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in get_args(tp)


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def _convert(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        return value
    if _is_union(tp):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) != 1:  # the models only use "X | None"
            raise TypeError(f"unsupported union {tp!r}")
        return _convert(members[0], value, path)
    origin = get_origin(tp)
    if origin is list:
        if not isinstance(value, list):
            raise ConversionError(path, f"expected a list, got {type(value).__name__}")
        (item_tp,) = get_args(tp)
        return [_convert(item_tp, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConversionError(path, f"expected an object, got {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConversionError(path, f"expected a boolean, got {value!r}")
        return value
    if tp is int:
        # bool is an int subclass, and a float amount would be a lie about money: refuse both.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConversionError(path, f"expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConversionError(path, f"expected a string, got {value!r}")
        return value
    if tp is datetime:
        if not isinstance(value, str):
            raise ConversionError(path, f"expected an ISO 8601 timestamp, got {value!r}")
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise ConversionError(path, f"bad timestamp {value!r}") from exc
    if tp is date:
        if not isinstance(value, str):
            raise ConversionError(path, f"expected a YYYY-MM-DD date, got {value!r}")
        try:
            return parse_date(value)
        except ValueError as exc:
            raise ConversionError(path, f"bad date {value!r}") from exc
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return construct(tp, value, path=path)
    raise TypeError(f"unsupported model field type {tp!r} at {path}")
