"""The rules of docs/architecture.md ("The rooms", "Transactions"), read from the code.

Imports are read with `ast` from every file (inside functions and `TYPE_CHECKING` blocks
too), so a rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "integrations", "standins")


@cache
def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the four packages."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(), filename=str(modules()[name]))


def _resolve(name: str, module: str | None, level: int) -> str:
    if not level:
        return module or ""
    base = name.split(".")
    # A package's own __init__ counts as the package itself.
    if modules()[name].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


@cache
def imported_names(name: str) -> frozenset[str]:
    """Every dotted name `name` imports: modules, and `module.attribute` for from-imports
    (`from bot.audit import vocabulary` names the submodule, not the package's face)."""
    found: set[str] = set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = _resolve(name, node.module, node.level)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return frozenset(found)


@cache
def _reexported_from(package: str, attribute: str) -> str | None:
    """The submodule a package's `__init__` takes `attribute` from, if it re-exports it."""
    for node in ast.walk(_tree(package)):
        if isinstance(node, ast.ImportFrom) and any(a.name == attribute for a in node.names):
            origin = _resolve(package, node.module, node.level)
            if origin in modules() and origin != package:
                return origin
    return None


def edges(name: str) -> set[str]:
    """The project's modules `name` depends on. A name a package only re-exports leads to
    the module that defines it; and importing anything inside a package from outside it
    runs the package's `__init__` first, so that face is a dependency too (it is how
    `bot.config` -> `bot.audit.config` once led back to `bot.config`)."""
    out: set[str] = set()
    for target in imported_names(name):
        if target in modules():
            out.add(target)
        else:
            package, _, attribute = target.rpartition(".")
            if package in modules():
                out.add(_reexported_from(package, attribute) or package)
    for target in list(out):
        out.update(_faces_entered(name, target))
    out.discard(name)
    return out


def _faces_entered(importer: str, target: str) -> set[str]:
    """The packages around `target` that `importer` is not inside of."""
    parts = target.split(".")
    return {
        face
        for face in (".".join(parts[:i]) for i in range(1, len(parts)))
        if face in modules() and not (importer + ".").startswith(face + ".")
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def in_package(package: str) -> Iterator[str]:
    return (m for m in modules() if m == package or m.startswith(package + "."))


def importers_of(prefix: str, among: str) -> set[str]:
    """The modules of package `among` that import `prefix` or anything inside it."""
    return {
        m
        for m in in_package(among)
        if any(t == prefix or t.startswith(prefix + ".") for t in imported_names(m))
    }


def test_there_are_no_import_cycles() -> None:
    assert cycles({name: edges(name) for name in modules()}) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_import_reader_sees_imports_and_reexports() -> None:
    # The reader itself: a rule checked on an empty graph would pass for nothing.
    assert "bot.config" in edges("bot.runtime")
    # `from bot.fleet import FleetRouter` leads to the module that defines it.
    assert _reexported_from("bot.fleet", "FleetRouter") == "bot.fleet.router"
    # Importing `bot.audit.config` from outside runs the `bot.audit` package face first.
    assert "bot.audit" in edges("bot.config")


def test_integrations_import_nothing_of_the_bot() -> None:
    for forbidden in ("bot", "commands", "standins"):
        assert importers_of(forbidden, "integrations") == set(), forbidden


def test_commands_use_the_areas_not_the_database() -> None:
    assert importers_of("sqlalchemy", "commands") == set()


# How a module reaches the database: the runtime's session maker and engine, the unit of
# work, and the factories in bot.db.
SESSION_OPENERS = frozenset({"sessions", "engine", "writing", "session_factory", "create_engine"})


def session_openings(tree: ast.Module) -> list[int]:
    """Lines of `tree` that name a way to the database (`rt.sessions()`, `writing(...)`)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in SESSION_OPENERS)
        or (isinstance(node, ast.Name) and node.id in SESSION_OPENERS)
    ]


def test_the_session_finder_finds_sessions() -> None:
    opened = ast.parse(
        "async def f(rt):\n"
        "    async with rt.sessions() as s:\n"
        "        pass\n"
        "    async with writing(rt.sessions):\n"
        "        pass\n"
        "    async with rt.engine.connect():\n"
        "        pass\n"
    )
    assert session_openings(opened) == [2, 4, 4, 6]
    assert session_openings(ast.parse("page = await recent_page(rt.config, query)")) == []


def test_commands_open_no_database_session() -> None:
    # Commands parse, call the area's service functions and render; the areas open the
    # sessions (docs/architecture.md, "The rooms").
    assert importers_of("bot.db", "commands") == set()
    assert [
        f"{name}:{line}"
        for name in in_package("commands")
        for line in session_openings(_tree(name))
    ] == []


def test_only_the_composition_root_imports_commands() -> None:
    assert importers_of("commands", "bot") == {"bot.composition"}


def test_stand_ins_reach_the_bot_only_through_the_demo() -> None:
    assert {m for m in importers_of("standins", "bot") if not m.startswith("bot.demo.")} == set()


def test_write_transactions_open_only_in_the_unit_of_work() -> None:
    opened = [
        f"{name}:{node.lineno}"
        for name in modules()
        if not name.startswith(("bot.db.", "standins."))
        for node in ast.walk(_tree(name))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "begin"
    ]
    assert opened == []


def test_no_module_keeps_state_through_global() -> None:
    assert [
        name
        for name in modules()
        if any(isinstance(node, ast.Global) for node in ast.walk(_tree(name)))
    ] == []


def test_comments_cite_the_repository_only() -> None:
    assert [n for n, p in modules().items() if "design.md" in p.read_text()] == []


# Names a module gives the configuration: `config`, `rt.config`, `parts.config`, `cfg`.
CONFIG_NAMES = frozenset({"config", "cfg"})


def _is_config(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in CONFIG_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr in CONFIG_NAMES
    )


def _reads_roles(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "roles" and _is_config(node.value)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and _is_config(node.args[0])
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value == "roles"
    )


def role_readings(tree: ast.Module) -> list[int]:
    """Lines of `tree` that read `roles:` off the configuration (`rt.config.roles`,
    `getattr(config, "roles")`); `rule.roles` of a policy is another thing."""
    return sorted(node.lineno for node in ast.walk(tree) if _reads_roles(node))


def test_the_role_reader_finds_readings() -> None:
    read = ast.parse(
        "a = rt.config.roles\n"
        "b = config.roles.get('auditor')\n"
        "c = getattr(parts.config, 'roles')\n"
        "d = rule.roles\n"
        "e = self.roles\n"
    )
    assert role_readings(read) == [1, 2, 3]


def test_roles_are_decided_only_in_the_permissions_area() -> None:
    # Who holds a role is decided by bot.permissions.roles.holds, for commands, buttons and
    # the guard chain alike; a second reading of `roles:` would be a second decision that
    # can drift from the first (docs/security.md).
    assert [
        f"{name}:{line}"
        for name in modules()
        if not name.startswith("bot.permissions.")
        for line in role_readings(_tree(name))
    ] == []


def test_tests_read_nothing_outside_the_checkout() -> None:
    # A user's clone has only the repository: fixtures are copied into tests/fixtures/.
    leaving = ("parent.parent.parent", "ROOT.parent", "../" + "shared")
    outside = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.resolve() != Path(__file__).resolve()
        and any(way in path.read_text() for way in leaving)
    ]
    assert outside == []
