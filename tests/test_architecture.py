"""The package's shape: no import circles (imports inside functions
included), no module over 400 lines, no function over 60 lines."""
import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_dynclean"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports, anywhere in its body."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every strongly connected set of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # cli imports its commands inside the command functions: those must be seen
    assert "spacy_dynclean.cleaning.run" in graph["spacy_dynclean.cli"]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_no_module_over_the_limit():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_over_the_limit():
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{module_name(path)}.{node.name}"] = n
    assert long == {}


def imports_inside_functions(path: Path) -> List[str]:
    """The package's modules a file imports inside a function body."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("spacy_dynclean"):
                    found.append(f"{node.name}: {inner.module}")
                elif isinstance(inner, ast.Import):
                    found += [f"{node.name}: {a.name}" for a in inner.names if a.name.startswith("spacy_dynclean")]
    return found


def test_the_package_imports_itself_at_module_level(tmp_path):
    # cli.py alone imports its commands inside them, so that `--help` does not load every stage
    hidden = {module_name(p): found for p in PACKAGE.rglob("*.py")
              if p.name != "cli.py" and (found := imports_inside_functions(p))}
    assert hidden == {}
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from spacy_dynclean.util import PathLike\n", encoding="utf8")
    assert imports_inside_functions(probe) == ["f: spacy_dynclean.util"]
