"""The apps stand on floors, and plumbing lives on the lowest one that needs it.

Every module of the project is parsed (imports inside functions too): an app imports only its own
floor and the floors below (``FLOORS``); from another app it reaches only that app's public domain
modules (``PUBLIC_MODULES``); the shared plumbing (errors, the API's error handling, admin bases,
private storage, notices, staff lookups) is imported from where it lives, never through a sibling.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. The project package itself (settings, URLs, the site-wide views) is above all.
FLOORS = [
    "zheliban.core",
    "zheliban.accounts",
    "departments",
    "registers",
    "catalog",
    "workflows",
    "complaints",
    "scoreboard",
    "citizen",
]
PROJECT = "zheliban"
SOURCES = [
    "zheliban",
    "departments",
    "registers",
    "catalog",
    "workflows",
    "complaints",
    "scoreboard",
    "citizen",
]

# What one app may import of another (a lower one): its domain, not its pages or plumbing.
PUBLIC_MODULES = {
    "models",
    "schema",
    "rules",
    "selectors",
    "services",
    "scoping",
    "search",
    "wording",
    "dispatch.categories",
    # The department-scoped admin base: which rows a member of staff sees, by department.
    "admin:DepartmentScopedAdmin",
}

# Plumbing and where it lives: importing one of these names from anywhere else is borrowing it.
PLUMBING = {
    "Refused": "zheliban.core.errors",
    "Conflict": "zheliban.core.errors",
    "Forbidden": "zheliban.core.errors",
    "ErrorCode": "zheliban.core.errors",
    "valid_data": "zheliban.core.api",
    "flat_errors": "zheliban.core.api",
    "Refusal": "zheliban.core.api",
    "ReadOnlyAdmin": "zheliban.core.admin",
    "private_files": "zheliban.core.uploads",
    "private_storage": "zheliban.core.uploads",
    "notify": "zheliban.core.notices",
    "Notice": "zheliban.core.models",
    "NoticeDelivery": "zheliban.core.models",
    "NoticePreference": "zheliban.core.models",
    "staff_of": "departments.selectors",
    "staff_name": "departments.selectors",
    "can_work_on": "departments.selectors",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported from
    names: tuple[str, ...]  # the names imported from it (empty for ``import x``)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(alias.name for alias in node.names)
            submodules = [name for name in names if _is_module(f"{target}.{name}")]
            # ``from pkg import module``: the module is what is imported
            found += [Import(module, f"{target}.{name}", (), node.lineno) for name in submodules]
            rest = tuple(name for name in names if name not in submodules)
            if rest:
                found.append(Import(module, target, rest, node.lineno))
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _app_of(module: str) -> str | None:
    for app in FLOORS:
        if module == app or module.startswith(app + "."):
            return app
    if module == PROJECT or module.startswith(PROJECT + "."):
        return PROJECT
    return None


def _all_imports() -> list[Import]:
    found = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found += _imports(path)
    return found


def _public(app: str, target: str, names: tuple[str, ...]) -> bool:
    rest = target[len(app) + 1 :]
    for allowed in PUBLIC_MODULES:
        module, _, name = allowed.partition(":")
        inside = rest == module or rest.startswith(module + ".")
        if inside and (not name or (names and set(names) <= {name})):
            return True
    return False


def problems_of(imports: list[Import]) -> list[str]:
    problems = []
    for imp in imports:
        mine, theirs = _app_of(imp.module), _app_of(imp.target)
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if mine is None or theirs is None or mine == theirs:
            continue
        if theirs == PROJECT:
            if imp.target != PROJECT or set(imp.names) - {"celery_app"}:
                problems.append(f"{where}: the project package is above every app")
            continue
        if mine != PROJECT:
            if FLOORS.index(theirs) > FLOORS.index(mine):
                problems.append(f"{where}: upward, {theirs} stands above {mine}")
                continue
            if theirs not in ("zheliban.core", "zheliban.accounts") and not _public(
                theirs, imp.target, imp.names
            ):
                problems.append(f"{where}: not {theirs}'s domain (models, selectors, services)")
        for name in imp.names:
            home = PLUMBING.get(name)
            if home and imp.target != home and not imp.target.startswith(home + "."):
                problems.append(f"{where}: {name} is plumbing, import it from {home}")
    return problems


def test_every_import_stays_on_its_floor_and_takes_plumbing_from_where_it_lives():
    imports = _all_imports()
    assert len(imports) > 500  # the walk saw the project
    assert problems_of(imports) == []


def test_the_walk_catches_upward_sideways_and_borrowed_imports():
    seen = problems_of(
        [
            Import("catalog.views", "workflows.selectors", ("x",), 1),
            Import("complaints.api.tickets", "workflows.api.views", ("valid_data",), 2),
            Import("scoreboard.admin", "workflows.admin", ("ReadOnlyAdmin",), 3),
            Import("complaints.services.loop", "workflows.services", ("notify",), 4),
            Import("workflows.models", "zheliban.views", ("home",), 5),
            Import("complaints.models", "workflows.models", ("Task",), 6),
            Import("catalog.admin", "departments.admin", ("DepartmentScopedAdmin",), 7),
        ]
    )
    assert [problem.split(":")[0] for problem in seen] == [
        "catalog.views",
        "complaints.api.tickets",
        "complaints.api.tickets",
        "scoreboard.admin",
        "scoreboard.admin",
        "complaints.services.loop",
        "workflows.models",
    ]
