#!/usr/bin/env python3
"""The boundary check: what may import what (docs/architecture.md draws it). Run by `make check`.

Rules, checked on every import statement (also those inside functions and under TYPE_CHECKING):
  core       `appliance/` never imports `console` or `modules`: the core names no module.
  requires   a module imports another module only if its ModuleSpec `requires` it ...
  surface    ... and then only that module's `services` (the package), `views`, `models` and `extensions`.
  private    outside a module's services package, nobody imports a file inside it: `<module>.services` is the
             surface (the core's `appliance.services.*` are separate services, each its own surface).
  layers     services, models and views import neither nicegui, fastapi, starlette nor `appliance.ui`.
  sessions   no page and no API route opens a database session itself (`get_database().session()`): pages go
             through `appliance.ui.actions`, routes through the session dependency of `appliance.api.deps`.

A module is `modules/<name>/` or a built-in top-level package declaring `MODULE = ModuleSpec(...)` (the console).
Exit status 1 and one line per violation (file:line: rule: what to do) when anything is broken.

`--stats` prints the figures the architecture notes quote: files per module, the largest files and functions,
and the import cycles between files.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = 'appliance'
BUILTIN_MODULES = ('console',)
MODULES_PACKAGE = 'modules'
SURFACE = ('services', 'views', 'models', 'extensions')
UI_LIBRARIES = ('nicegui', 'fastapi', 'starlette', 'appliance.ui')
SESSION_EXEMPT = ('appliance/ui/actions.py', 'appliance/api/deps.py')
# Known violations still being worked off; this list ends empty and stays empty.
ALLOWED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f'{self.path}:{self.line}: {self.rule}: {self.message}'

    @property
    def key(self) -> str:
        return f'{self.path}: {self.rule}: {self.message}'


@dataclass
class Module:
    name: str
    package: str  # dotted, e.g. 'modules.tasks' or 'console'
    requires: tuple[str, ...] = ()
    files: list[Path] = field(default_factory=list)


def dotted(path: Path, root: Path) -> str:
    """`modules/tasks/services/__init__.py` -> `modules.tasks.services`."""
    parts = list(path.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def spec_requires(init: Path) -> tuple[str, ...] | None:
    """The `requires=` of the `ModuleSpec(...)` assigned to MODULE in `init`, or None when it declares none."""
    tree = ast.parse(init.read_text(encoding='utf-8'))
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, 'target', None)]
        if not any(isinstance(t, ast.Name) and t.id == 'MODULE' for t in targets):
            continue
        if isinstance(value, ast.Call):
            for keyword in value.keywords:
                if keyword.arg == 'requires' and isinstance(keyword.value, ast.Tuple | ast.List):
                    return tuple(str(elt.value) for elt in keyword.value.elts if isinstance(elt, ast.Constant))
            return ()
    return None


def find_modules(root: Path) -> dict[str, Module]:
    """Every module under `root`: the built-ins and `modules/<name>/`, keyed by module name."""
    found: dict[str, Module] = {}
    candidates = [root / name for name in BUILTIN_MODULES]
    if (root / MODULES_PACKAGE).is_dir():
        candidates += sorted(p for p in (root / MODULES_PACKAGE).iterdir() if p.is_dir())
    for folder in candidates:
        init = folder / '__init__.py'
        if not init.is_file():
            continue
        requires = spec_requires(init)
        if requires is None and folder.name not in BUILTIN_MODULES:
            continue
        module = Module(name=folder.name, package=dotted(init, root), requires=requires or ())
        module.files = sorted(folder.rglob('*.py'))
        found[module.name] = module
    return found


def imports(tree: ast.AST, current: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything a file imports; `from a import b` yields `a.b` (b may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = current.split('.') if is_package else current.split('.')[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = '.'.join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, f'{base}.{alias.name}' if alias.name != '*' else base


def resolve(name: str, root: Path) -> str:
    """The file a dotted name is: `from a.b import c` is `a.b.c` when c is a module, else `a.b` (c is a name in it)."""
    parts = name.split('.')
    if not (root / parts[0]).is_dir():
        return name  # a library
    while len(parts) > 1:
        base = root.joinpath(*parts)
        if base.with_suffix('.py').is_file() or (base / '__init__.py').is_file():
            break
        parts.pop()
    return '.'.join(parts)


def owner(name: str, modules: dict[str, Module]) -> Module | None:
    """The module a dotted name belongs to."""
    for module in modules.values():
        if name == module.package or name.startswith(module.package + '.'):
            return module
    return None


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + '.')


def services_package(name: str) -> str | None:
    """`a.b.services.x.y` -> `a.b.services` (the innermost services package a name lies in), else None."""
    parts = name.split('.')
    if 'services' not in parts:
        return None
    last = len(parts) - 1 - parts[::-1].index('services')
    return '.'.join(parts[: last + 1])


def opens_session(tree: ast.AST) -> Iterator[int]:
    """Lines calling `<something>.session()` on `get_database()` or a `Database`."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == 'session'
            and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name | ast.Attribute)
            and getattr(node.func.value.func, 'id', getattr(node.func.value.func, 'attr', '')) == 'get_database'
        ):
            yield node.lineno


def is_page_or_route(rel: str, module: Module | None) -> bool:
    """Files holding pages or API routes."""
    parts = rel.split('/')
    if module is None:
        return rel.startswith(('appliance/ui/', 'appliance/api/')) and rel not in SESSION_EXEMPT
    return 'pages' in parts[:-1] or 'api' in parts[:-1]


def is_lower_layer(rel: str) -> bool:
    """services, models and views files (of the core and of every module)."""
    parts = rel.split('/')
    return 'services' in parts[:-1] or parts[-1] in ('models.py', 'views.py')


def check(root: Path = ROOT) -> list[Violation]:
    """Every violation in the tree under `root`."""
    modules = find_modules(root)
    files = sorted((root / CORE).rglob('*.py')) + [f for m in modules.values() for f in m.files]
    found: list[Violation] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if '/migrations/' in f'/{rel}':
            continue
        current = dotted(path, root)
        tree = ast.parse(path.read_text(encoding='utf-8'), filename=rel)
        here = owner(current, modules)
        seen: set[tuple[str, str]] = set()

        def add(line: int, rule: str, message: str, rel: str = rel, seen: set[tuple[str, str]] = seen) -> None:
            if (rule, message) not in seen:
                seen.add((rule, message))
                found.append(Violation(rel, line, rule, message))

        for line, imported in imports(tree, current, path.name == '__init__.py'):
            name = resolve(imported, root)
            target = owner(name, modules)
            if here is None and target is not None:
                add(line, 'core', f'the core imports {name}; offer an extension point or a ModuleSpec hook instead')
            if here is not None and target is not None and target is not here:
                if target.name not in here.requires:
                    add(line, 'requires', f'{name}: module "{here.name}" does not require "{target.name}"')
                rest = name[len(target.package) + 1 :].split('.') if name != target.package else []
                if (rest and rest[0] not in SURFACE) or (len(rest) > 1 and rest[0] == 'services'):
                    add(line, 'surface', f'{imported}: import only {target.package}.{{{",".join(SURFACE)}}}')
            package = services_package(name)
            if package and target is not None and name != package and not within(current, package):
                add(line, 'private', f'{name}: import the public surface {package} instead')
            if is_lower_layer(rel) and any(within(imported, lib) for lib in UI_LIBRARIES):
                add(line, 'layers', f'{name}: services, models and views stay free of the web and UI layers')
        if is_page_or_route(rel, here):
            for line in opens_session(tree):
                add(
                    line, 'sessions', 'opens a database session; use appliance.ui.actions or the API session dependency'
                )
    return found


def stats(root: Path = ROOT) -> None:
    """Files per module, the largest files and functions, and the import cycles between files."""
    modules = find_modules(root)
    print('Files per module:')
    core_files = sorted((root / CORE).rglob('*.py'))
    print(f'  {CORE} (core): {len(core_files)}')
    for module in modules.values():
        print(f'  {module.package}: {len(module.files)}')
    files = [f for f in core_files + [f for m in modules.values() for f in m.files] if 'migrations' not in f.parts]
    sizes = sorted(((len(p.read_text().splitlines()), p.relative_to(root).as_posix()) for p in files), reverse=True)
    print('Largest files:', ', '.join(f'{rel} ({n})' for n, rel in sizes[:5]))
    print('Files over 400 lines:', sum(1 for n, _ in sizes if n > 400))
    functions: list[tuple[int, str]] = []
    graph: dict[str, set[str]] = {}
    lazy_graph: dict[str, set[str]] = {}
    names = {dotted(p, root) for p in files}
    for path in files:
        tree = ast.parse(path.read_text(encoding='utf-8'))
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                functions.append((length, f'{rel}:{node.name}'))
        current = dotted(path, root)
        top = {id(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)}
        graph[current], lazy_graph[current] = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for _line, name in imports(node, current, path.name == '__init__.py'):
                    while name and name not in names:
                        name = name.rpartition('.')[0]
                    if name and name != current and not within(current, name):
                        lazy_graph[current].add(name)
                        if id(node) in top:
                            graph[current].add(name)
    functions.sort(reverse=True)
    print('Largest functions:', ', '.join(f'{name} ({n})' for n, name in functions[:5]))
    print('Functions over 60 lines:', sum(1 for n, _ in functions if n > 60))
    for label, edges in (('module-level imports', graph), ('counting imports inside functions', lazy_graph)):
        cycles = strongly_connected(edges)
        print(f'Import cycles between files ({label}): {len(cycles)} groups, {sum(map(len, cycles))} files')
        for cycle in cycles:
            print('  ' + ' <-> '.join(sorted(cycle)))


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components of more than one file."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.add(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', nargs='?', type=Path, default=ROOT, help='the tree to check (default: this project)')
    parser.add_argument('--stats', action='store_true', help='print size and cycle figures instead')
    args = parser.parse_args(argv)
    if args.stats:
        stats(args.root)
        return 0
    violations = check(args.root)
    broken = [v for v in violations if v.key not in ALLOWED]
    stale = ALLOWED - {v.key for v in violations}
    for violation in broken:
        print(violation)
    for key in sorted(stale):
        print(f'allow-list entry no longer needed, remove it: {key}')
    if broken or stale:
        print(f'{len(broken)} boundary violation(s); docs/architecture.md says what may import what.', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
