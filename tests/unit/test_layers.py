"""Layers point one way (docs/architecture.md, "Layers"): every import in portal/, module-level or inside a
function, read with `ast`, checked against the layer order and the allowed directions between domains."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A domain's modules that plug it into a host (found by name: ROUTES, COMMANDS, MIDDLEWARE, demo data,
# Piccolo apps). Everything else in a domain (services, engine, tables, schemas, labels, jobs, …) is its
# core, which other domains may use.
SURFACES = frozenset({"views", "api", "cli", "demo", "server_hooks", "piccolo_app"})

LAYERS = (
    "foundation: portal, portal.settings, portal.lib",
    "database: portal.db",
    "job worker: portal.worker",
    "web server: portal.server",
    "domain core",
    "entry points: domain surfaces, portal.cli, portal.demo, portal.simulator",
)

# The one import that goes down-up on purpose: the engine is created once the DSN is known (the CLI may
# start the embedded PostgreSQL first), so portal.lib.sql looks it up late, inside `engine()`.
ALLOWED_UPWARD = frozenset({("portal.lib.sql", "portal.db.piccolo_conf")})

# Which domain's core may use which other domain's core. Acyclic; audit, accounts and notifications use
# no other domain. A new arrow here is a design decision: add it to docs/architecture.md too.
DOMAIN_DEPENDENCIES: dict[str, frozenset[str]] = {
    "accounts": frozenset({"audit", "webhooks"}),
    "audit": frozenset(),
    "billing": frozenset({"accounts", "audit", "identity", "payments", "payouts", "provider", "webhooks"}),
    "dashboard": frozenset({"accounts"}),
    "identity": frozenset({"accounts", "audit"}),
    "invoices": frozenset(
        {"accounts", "audit", "identity", "ledger", "notifications", "payouts", "webhooks"}
    ),
    "ledger": frozenset({"accounts", "audit", "identity", "notifications", "provider", "webhooks"}),
    "monitoring": frozenset({"accounts", "audit", "identity", "webhooks"}),
    "notifications": frozenset(),
    "payments": frozenset({"accounts", "audit", "ledger", "monitoring", "payouts", "provider", "webhooks"}),
    "payouts": frozenset(
        {"accounts", "audit", "identity", "ledger", "notifications", "provider", "webhooks"}
    ),
    "provider": frozenset(),
    "reports": frozenset({"accounts", "audit", "identity", "ledger"}),
    "webhooks": frozenset({"audit", "notifications"}),
}

# A surface uses another domain's core, never its surface. One exception remains until the portal's one
# form helper replaces it: the ledger's forms read and map errors with the accounts views' helpers.
ALLOWED_SURFACE_TO_SURFACE = frozenset({("portal.domains.ledger.views", "portal.domains.accounts.views")})


# Surfaces whose use of another domain's core points against DOMAIN_DEPENDENCIES: the account page shows
# the account's ledger entries, and the accounts' demo data scopes two demo users to accounts it creates.
# Surfaces are found by name and imported by no core, so these close no import cycle between modules.
SURFACE_BACK_EDGES = frozenset(
    {
        ("portal.domains.accounts.views", "portal.domains.ledger.services"),
        ("portal.domains.accounts.views", "portal.domains.ledger.labels"),
        ("portal.domains.accounts.views", "portal.domains.ledger.history"),
        ("portal.domains.accounts.demo", "portal.domains.identity.services"),
    }
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(*folders: str) -> list[Path]:
    return sorted(
        p for folder in folders for p in (ROOT / folder).rglob("*.py") if "piccolo_migrations" not in p.parts
    )


PORTAL_FILES = python_files("portal")
MODULES = {module_name(p) for p in PORTAL_FILES}


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import in the file, relative ones resolved, at any depth."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def owning_module(dotted: str) -> str | None:
    """The portal module a dotted import name lives in (`a.b.func` → `a.b`), None outside portal."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def domain_of(module: str) -> tuple[str, str] | None:
    """(domain, first module name inside it) for portal.domains.<domain>.<module>…, else None."""
    parts = module.split(".")
    if parts[:2] != ["portal", "domains"] or len(parts) < 3:
        return None
    return parts[2], parts[3] if len(parts) > 3 else "__init__"


def layer(module: str) -> int:
    if module in ("portal", "portal.settings") or module.startswith("portal.lib"):
        return 0
    if module.startswith("portal.db"):
        return 1
    if module.startswith("portal.worker"):
        return 2
    if module.startswith("portal.server"):
        return 3
    if module == "portal.domains":
        return 0  # the bare package: hosts list its folders to find domains by name, nothing more
    place = domain_of(module)
    if place is not None:
        return 5 if place[1] in SURFACES else 4
    if module.startswith(("portal.cli", "portal.simulator")) or module == "portal.demo":
        return 5
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/architecture.md")


def edges() -> list[tuple[str, int, str]]:
    """(importer, line, imported module) for every import of a portal module by a portal module."""
    found = []
    for path in PORTAL_FILES:
        importer = module_name(path)
        for line, dotted in imported_names(path):
            imported = owning_module(dotted)
            if imported is not None and imported != importer:
                found.append((importer, line, imported))
    return found


EDGES = edges()


def test_the_checker_sees_imports_inside_functions() -> None:
    # portal/lib/sql.py imports the engine inside `engine()`; a module-level-only reader would miss it.
    assert any(imp == "portal.lib.sql" and mod == "portal.db.piccolo_conf" for imp, _, mod in EDGES)


def test_no_layer_imports_a_higher_one() -> None:
    wrong = [
        f"{importer}:{line} imports {imported} ({LAYERS[layer(importer)]} < {LAYERS[layer(imported)]})"
        for importer, line, imported in EDGES
        if layer(imported) > layer(importer) and (importer, imported) not in ALLOWED_UPWARD
    ]
    assert not wrong, "\n".join(wrong)


def test_the_server_and_the_foundation_import_no_domain_module() -> None:
    wrong = [
        f"{importer}:{line} imports {imported}"
        for importer, line, imported in EDGES
        if layer(importer) <= 3 and domain_of(imported) is not None
    ]
    assert not wrong, "\n".join(wrong)


def test_the_simulator_imports_no_domain_module() -> None:
    # The sandbox provider stands for an outside service: Neraca reaches it over HTTP only.
    wrong = [
        f"{importer}:{line} imports {imported}"
        for importer, line, imported in EDGES
        if importer.startswith("portal.simulator") and domain_of(imported) is not None
    ]
    assert not wrong, "\n".join(wrong)


def test_domain_cores_use_each_other_only_in_the_documented_directions() -> None:
    wrong = []
    for importer, line, imported in EDGES:
        source, target = domain_of(importer), domain_of(imported)
        if source is None or target is None or source[0] == target[0] or source[1] in SURFACES:
            continue
        if target[0] not in DOMAIN_DEPENDENCIES.get(source[0], frozenset()):
            wrong.append(f"{importer}:{line} imports {imported} ({source[0]} → {target[0]})")
    hint = "\nA new direction is a design decision: DOMAIN_DEPENDENCIES and docs/architecture.md (Layers)."
    assert not wrong, "\n".join(wrong) + hint


def test_the_documented_directions_have_no_cycle() -> None:
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in DOMAIN_DEPENDENCIES.get(start, frozenset())
        )

    assert [d for d in DOMAIN_DEPENDENCIES if reaches(d, d)] == []
    assert "reports" not in DOMAIN_DEPENDENCIES["audit"]
    assert "audit" not in DOMAIN_DEPENDENCIES["identity"] or "identity" not in DOMAIN_DEPENDENCIES["audit"]


def test_every_domain_is_placed() -> None:
    domains = {name for name, _ in (d for d in (domain_of(m) for m in MODULES) if d is not None)}
    missing = sorted(domains - set(DOMAIN_DEPENDENCIES))
    assert not missing, f"add {missing} to DOMAIN_DEPENDENCIES and to the table in docs/architecture.md"
    assert not set(DOMAIN_DEPENDENCIES) - domains, "DOMAIN_DEPENDENCIES names a domain that is gone"


def test_a_domain_module_never_imports_another_domains_surface() -> None:
    wrong = []
    for importer, line, imported in EDGES:
        source, target = domain_of(importer), domain_of(imported)
        if source is None or target is None or source[0] == target[0] or target[1] not in SURFACES:
            continue
        if (importer, imported) not in ALLOWED_SURFACE_TO_SURFACE:
            wrong.append(f"{importer}:{line} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_two_domains_import_each_other_only_through_the_named_surfaces() -> None:
    # Counting surfaces too, a pair of domains that import each other is a cycle unless it runs through
    # one of SURFACE_BACK_EDGES (a surface using a core that, lower down, uses the surface's domain).
    pairs: dict[tuple[str, str], list[str]] = {}
    for importer, line, imported in EDGES:
        source, target = domain_of(importer), domain_of(imported)
        if source is None or target is None or source[0] == target[0]:
            continue
        if (importer, imported) not in SURFACE_BACK_EDGES:
            pairs.setdefault((source[0], target[0]), []).append(f"{importer}:{line} imports {imported}")
    cycles = [f"{a} ↔ {b}: {pairs[(a, b)][0]}; {pairs[(b, a)][0]}" for (a, b) in pairs if (b, a) in pairs]
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("folder", ["sdk/src", "sdk/tests"])
def test_the_sdk_never_imports_the_portal(folder: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {dotted}"
        for path in python_files(folder)
        for line, dotted in imported_names(path)
        if dotted.split(".")[0] in ("portal", "tests")
    ]
    assert not wrong, "\n".join(wrong)


def test_test_modules_never_import_each_other() -> None:
    # What tests share lives in tests/support (or sdk/tests/sdk_support.py); a test module or a conftest
    # imported by another runs its module-level code twice and ties unrelated suites together.
    wrong = []
    for path in python_files("tests", "sdk/tests"):
        for line, dotted in imported_names(path):
            parts = dotted.split(".")
            if any(part.startswith("test_") or part == "conftest" for part in parts[:-1]):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {dotted}")
    assert not wrong, "\n".join(wrong)
