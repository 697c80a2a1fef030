"""Wire names that are not ordinary words are spelled in one place: the contract (Wiro's names,
which every input is checked under) and each dialect's name map. Anywhere else a string literal
holding one is a second declaration, which drifts: this test fails on it."""

from __future__ import annotations

import ast
from pathlib import Path

import subject2video

SRC = Path(subject2video.__file__).resolve().parent
#: Not ordinary words: a literal holding one exactly is a declaration of that name.
NAMES = {
    "inputImageFirstUrl",
    "inputImageFirst",
    "inputImageUrl",
    "callbackUrl",
    "first_frame_image",
    "subject_reference",
    "input_reference",
}
#: Where they are declared: the contract, and each dialect's map of its names.
ALLOWED = {
    "contract.py",
    "api/minimax/models.py",
    "api/openai/wire.py",
    "api/replicate/models.py",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (prose, not declarations)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _spelled(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    prose = _docstrings(tree)
    return [
        f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in NAMES
        and id(node) not in prose
    ]


def test_wire_names_are_declared_once() -> None:
    found = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).as_posix() not in ALLOWED
        for hit in _spelled(path)
    ]
    assert found == [], "import the name from contract.py or the dialect's name map:\n" + "\n".join(
        found
    )


def test_the_check_finds_a_literal(tmp_path: Path) -> None:
    """The check is not blind: a literal outside the maps is reported, a docstring is not."""
    copy = tmp_path / "probe.py"
    copy.write_text('"""inputImageFirstUrl"""\nNAME = "inputImageFirstUrl"\n')
    tree = ast.parse(copy.read_text())
    prose = _docstrings(tree)
    hits = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and n.value in NAMES and id(n) not in prose
    ]
    assert hits == [2]
