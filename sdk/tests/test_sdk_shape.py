"""The SDK's shape: every model is a frozen dataclass and every resource on a client is a property.

Both are easy to lose silently (a dropped decorator still imports and type-checks), so they are checked here
for every class and attribute rather than endpoint by endpoint.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

from neraca import AsyncNeraca, Neraca, models, resources
from neraca.resources._base import AsyncResource, SyncResource

MODELS = sorted(
    (
        cls
        for _, cls in inspect.getmembers(models, inspect.isclass)
        if issubclass(cls, models.NeracaObject) and cls.__module__ == models.__name__
    ),
    key=lambda cls: cls.__name__,
)


def resource_classes() -> set[str]:
    """Names of every resource class the SDK ships (sync and async)."""
    names = set()
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, (SyncResource, AsyncResource)) and cls not in (SyncResource, AsyncResource):
                names.add(name)
    return names


def resource_attributes(client: type) -> dict[str, object]:
    """The client's attributes that hand out a resource, by the return annotation of their function."""
    classes = resource_classes()
    found = {}
    for name, member in vars(client).items():
        function = member.fget if isinstance(member, property) else member
        if callable(function) and str(inspect.signature(function).return_annotation) in classes:
            found[name] = member
    return found


def test_there_are_models_to_check() -> None:
    assert len(MODELS) > 40


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_model_is_a_frozen_dataclass_with_its_own_fields(cls: type) -> None:
    assert dataclasses.is_dataclass(cls) and "__dataclass_fields__" in vars(cls), (
        f"{cls.__name__} is not a dataclass"
    )
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    own = set(getattr(cls, "__annotations__", {}))
    assert own <= {f.name for f in dataclasses.fields(cls)}, (
        f"{cls.__name__} has annotations that are not fields"
    )


@pytest.mark.parametrize("client", [Neraca, AsyncNeraca], ids=lambda c: c.__name__)
def test_every_resource_is_a_property(client: type) -> None:
    found = resource_attributes(client)
    assert {"accounts", "payments", "payouts", "customers", "billings", "invoices"} <= set(found)
    methods = sorted(name for name, member in found.items() if not isinstance(member, property))
    assert methods == [], f"resources reached as methods, not properties: {methods}"
