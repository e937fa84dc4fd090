"""The organizer's modules import each other in one direction only (issue 18, "Layout"): the two
faces (organizer/cli/, organizer/app/) stand on the shared core, and no module needs a module that
needs it back. A circle works only while the import order happens to suit it, and hides which
module owns what; this test reads every import with ast, so it fails as soon as one comes back."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "organizer"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The organizer modules `name` imports, anywhere in the file (a lazy import inside a
    function is still a dependency). `from a.b import c` means the module a.b.c when there is
    one, else a.b; relative imports are resolved against the module's package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that reach one another through imports (more than one module, or one
    that imports itself back through others): every such group is a circle."""
    reach = {node: reachable(graph, node) for node in graph}
    groups = {frozenset([node, *(m for m in reach[node] if node in reach[m])])
              for node in graph if node in reach[node]}
    return sorted(sorted(g) for g in groups)


def test_the_graph_is_read_as_python_reads_it() -> None:
    graph = import_graph()
    assert "organizer.cli.app" in graph["organizer.cli.pledgebox"]  # from organizer.cli import app
    assert "organizer.session" in graph["organizer.cli.people"]  # from organizer.session import ...
    assert "organizer.app.serve" in graph["organizer.cli.app"]  # a lazy import counts too
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_organizer_module_imports_one_that_imports_it_back() -> None:
    found = circles(import_graph())
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def face(module: str) -> str | None:
    """"app" or "cli" for a module of either face (organizer.client is core, not "cli")."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("app", "cli") else None


def test_the_two_faces_stand_on_the_core_and_not_on_each_other() -> None:
    """The core (organizer/*.py, organizer/watch/) imports neither face; the app never imports the
    command line; the command line starts the app in one place only (`pledgebox app`)."""
    graph = import_graph()
    assert face("organizer.client") is None
    assert face("organizer.cli.app") == "cli"
    leaning = {(m, n) for m in graph if face(m) is None for n in graph[m] if face(n)}
    assert leaning == set()
    app_on_cli = {(m, n) for m in graph if face(m) == "app" for n in graph[m] if face(n) == "cli"}
    assert app_on_cli == set()
    cli_on_app = {m for m in graph if face(m) == "cli" and any(face(n) == "app" for n in graph[m])}
    assert cli_on_app == {"organizer.cli.app"}
