"""The apps' import rules, read from the source: no import cycles (an import inside a function counts,
it only delays the cycle), apps depend one way (frontend -> reports -> billing -> booking -> facilities,
with common/ below all and config/ above all), no domain app imports config, and no app imports another
app's private (underscore) names. Imports under `if TYPE_CHECKING:` never run and are left out."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Lower rank never imports higher rank.
# audit (the trail's pages, API and the personal-data export) reads every app below it; frontend shows it.
RANK = {
    "common": 0,
    "outbox": 0.5,
    "facilities": 1,
    # federated sign-in (SAML, OpenID Connect on django-allauth) reads and joins people through facilities.
    "federation": 1.5,
    "booking": 2,
    "usage": 2.5,
    "proposals": 2.5,
    "billing": 3,
    "audit": 3.5,
    "reports": 4,
    "frontend": 5,
    "config": 6,
}
DOMAIN_APPS = {
    "outbox",
    "facilities",
    "booking",
    "usage",
    "proposals",
    "billing",
    "audit",
    "reports",
    "federation",
    "frontend",
}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for app in RANK:
        for path in (ROOT / app).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in parts:
                continue
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every import statement, at any depth, except those only type checkers see."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in _import_nodes_in(child))
            continue
        yield from _import_nodes_in(node)


def _import_nodes_in(node: ast.AST):
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def _known(name: str) -> str | None:
    """The project module `name` is, or lies in (an attribute of a module counts as that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported project module, imported name or None, line) for each import in `module`."""
    path, is_package = MODULES[module]
    out = []
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(target, None, node.lineno) for alias in node.names if (target := _known(alias.name))]
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            if target := _known(f"{source}.{alias.name}") or _known(source):
                out.append((target, alias.name, node.lineno))
    return out


GRAPH = {module: _imports(module) for module in MODULES}


def _app(module: str) -> str:
    return module.split(".")[0]


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    edges = {m: sorted({t for t, _, _ in GRAPH[m] if t != m}) for m in GRAPH}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_the_graph_sees_the_project():
    # Guards the checks below against passing on an empty or misread graph.
    assert {"booking.services.requests", "billing.tasks", "common.errors", "config.settings"} <= set(MODULES)
    assert "billing.services.invoicing" in {target for target, _, _ in GRAPH["billing.tasks"]}
    assert "booking.models" in {target for target, _, _ in GRAPH["booking.tasks"]}


def test_no_import_cycles():
    assert _cycles() == []


def test_apps_depend_one_way():
    upward = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        for target, _, line in imports
        if RANK[_app(target)] > RANK[_app(module)]
    ]
    assert upward == []


def test_no_domain_app_imports_config():
    found = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        if _app(module) in DOMAIN_APPS | {"common"}
        for target, _, line in imports
        if _app(target) == "config"
    ]
    assert found == []


def test_no_app_imports_another_apps_private_names():
    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found = [
        f"{module}:{line} imports {name or target} from {target}"
        for module, imports in GRAPH.items()
        for target, name, line in imports
        if _app(target) != _app(module) and (private(name or "") or any(private(part) for part in target.split(".")))
    ]
    assert found == []
