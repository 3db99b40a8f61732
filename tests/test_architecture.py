"""The package's import graph: no cycles, and imports only point down the layers.

Imports inside functions count: they hide cycles, they do not remove them.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tfgen"

# Layers from the top; a module may import its own layer or any layer below it.
LAYERS = [
    {
        "tfgen.cli",
        "tfgen.fit",
        "tfgen.sample",
        "tfgen.export",
        "tfgen.evaluate",
        "tfgen.launch",
        "tfgen.projection",
        "tfgen.data.__main__",
    },
    {"tfgen.training", "tfgen.evaluation", "tfgen.serving", "tfgen.distribute.launch"},
    {"tfgen.runs", "tfgen.metrics"},
    {"tfgen.models"},
    {"tfgen.samplers", "tfgen.text", "tfgen.data", "tfgen.distribute"},
    {"tfgen.config", "tfgen.ops", "tfgen.utils"},
]


def module_files():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def resolve(name, modules):
    """The module a dotted import name lands in (`tfgen.runs.Run` -> `tfgen.runs`)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.rpartition(".")[0]
                module = (
                    (f"{base}.{node.module}" if node.module else base)
                    if node.level
                    else node.module or ""
                )
                names = [f"{module}.{alias.name}" for alias in node.names] or [module]
            else:
                continue
            for target in names:
                found = resolve(target, modules) if target.startswith("tfgen") else None
                # A package's own submodules, and the package a module sits in, are not edges.
                if found and found not in (name, "tfgen") and not name.startswith(found + "."):
                    targets.add(found)
        graph[name] = targets
    return graph


def layer_of(name):
    best = None
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer():
    assert [name for name in import_graph() if name != "tfgen" and layer_of(name) is None] == []


def test_imports_point_down_the_layers():
    upward = [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        for target in targets
        if layer_of(name) is not None
        and layer_of(target) is not None
        and layer_of(target) < layer_of(name)
    ]
    assert upward == []


def test_only_the_command_lines_import_the_fit_loop():
    importers = [
        name
        for name, targets in import_graph().items()
        if any(t == "tfgen.training" or t.startswith("tfgen.training.") for t in targets)
        and not name.startswith("tfgen.training")
        and layer_of(name) != 0
    ]
    assert importers == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # `from tfgen.runs import load` inside `main()`.
    assert any(t.startswith("tfgen.runs") for t in graph["tfgen.cli.sample"])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
