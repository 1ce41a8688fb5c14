"""The shape issue #21 asks of every module under ``src/processes``.

No function above cyclomatic complexity 20 (radon's measure), no class longer than 400
lines, and a module docstring that says what the module may import.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from radon.complexity import cc_visit
from radon.visitors import Class, Function

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "processes"

MAX_COMPLEXITY = 20
MAX_CLASS_LINES = 400

MODULES = sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py"))


def source(relative: str) -> str:
    return (PACKAGE / relative).read_text(encoding="utf-8")


def radon_functions(blocks: list[Any]) -> list[Function]:
    """Every function and method radon measured, those of nested classes too.

    ``cc_visit`` lists a module's functions, its classes and their methods, but not the
    methods of a class nested in a class.
    """
    found = []
    for block in blocks:
        if isinstance(block, Class):
            for inner in block.inner_classes:
                found.extend(radon_functions([*inner.methods, inner]))
        else:
            found.append(block)
    return found


def test_the_shape_checks_see_the_package() -> None:
    assert "task.py" in MODULES
    assert "rendering/chat.py" in MODULES
    assert "__init__.py" in MODULES


def test_no_function_is_above_complexity_20() -> None:
    offenders = [
        f"{relative}:{function.lineno} {function.fullname} ({function.complexity})"
        for relative in MODULES
        for function in radon_functions(cc_visit(source(relative)))
        if function.complexity > MAX_COMPLEXITY
    ]
    assert not offenders, "complexity above 20:\n" + "\n".join(offenders)


def test_no_class_is_longer_than_400_lines() -> None:
    offenders = [
        f"{relative}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for relative in MODULES
        for node in ast.walk(ast.parse(source(relative)))
        if isinstance(node, ast.ClassDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
    ]
    assert not offenders, "classes longer than 400 lines:\n" + "\n".join(offenders)


@pytest.mark.parametrize("relative", MODULES)
def test_module_docstring_says_what_it_may_import(relative: str) -> None:
    docstring = ast.get_docstring(ast.parse(source(relative)))
    assert docstring, f"{relative} has no module docstring"
    assert "import" in docstring.lower(), (
        f"{relative}: the module docstring should say what the module may import"
    )
