"""Piccolo configuration: one engine, and one Piccolo app per domain found under portal/domains."""

from __future__ import annotations

import importlib.util
import pkgutil

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

import portal.domains
from portal.db.bootstrap import database_url


def _domain_apps() -> list[str]:
    apps = ["portal.db.piccolo_app"]
    for module in sorted(pkgutil.iter_modules(portal.domains.__path__), key=lambda m: m.name):
        name = f"portal.domains.{module.name}.piccolo_app"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            apps.append(name)
    return apps


DB = PostgresEngine(config={"dsn": database_url()})

APP_REGISTRY = AppRegistry(apps=_domain_apps())
