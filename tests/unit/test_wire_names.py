"""Wire names are spelled in one place: the contract, or a dialect's name map.

A wire name here is a request input's name that is not an ordinary word (camelCase or snake_case:
`inputImageFirstUrl`, `callbackUrl`, `first_frame_image`, `subject_reference`, `input_reference`),
as contract.py declares it, as a dialect's name map declares it, or as `UNDECLARED` lists the ones
no map declares yet. Read with `ast` from every module of the package: any string constant that
spells one (whole, or inside a message, a schema or an f-string), docstrings aside, is a spelling.

Allowed:
- contract.py, or any module of a `contract` package;
- a dialect's name map: a module-level UPPER_CASE constant under api/ whose value is the name
  itself (`SUBJECT = "subject_reference"`: this is also how a map declares a name), or a tuple,
  list, set or dict of nothing but strings.

Every other spelling is debt. `DEBT` counts today's, per name: the test fails on a new one (a count
above its entry), and on a paid one (a count below: lower the entry, so that it cannot come back).
"""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import subject2video

PACKAGE = Path(subject2video.__file__).parent
#: camelCase (`callbackUrl`) or snake_case (`first_frame_image`): what no ordinary word looks like.
NOT_A_WORD = re.compile(r"^(?:[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)$")
#: Dialect inputs that no name map declares yet (each is debt too: declare it in the contract).
UNDECLARED: tuple[str, ...] = ()

#: Today's spellings outside the contract and the name maps, per name. Each one is a debt (issue
#: 20: "the contract declares every input once"): lower an entry as its spellings go, never raise
#: one; a name that reaches 0 leaves the table. (Empty since contract.INPUTS declares every input
#: with each dialect's name for it.)
DEBT: dict[str, int] = {}


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring constants (module, class, function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _declarations(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """Module-level UPPER_CASE constants: (name, value)."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                yield target.id, value


def _map_entries(value: ast.AST) -> list[ast.Constant]:
    """The strings of a name map's value: the value itself, or every element of a container
    that holds only strings (a dict's keys and values); empty for anything else."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value]
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        items: list[ast.expr | None] = list(value.elts)
    elif isinstance(value, ast.Dict):
        items = [*value.keys, *value.values]
    else:
        return []
    strings = [i for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
    return strings if len(strings) == len(items) else []


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def _is_contract(module: str) -> bool:
    return module == "contract.py" or "contract" in module.split("/")[:-1]


def _is_dialect(module: str) -> bool:
    return module.startswith("api/")


def wire_names() -> set[str]:
    """Every wire name: the contract's, the name maps', and `UNDECLARED`."""
    names = set(UNDECLARED)
    for module, tree in _modules():
        if _is_contract(module):
            names |= {c.value for c in _strings(tree) if NOT_A_WORD.match(c.value)}
        elif _is_dialect(module):
            for _, value in _declarations(tree):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names |= {value.value} if NOT_A_WORD.match(value.value) else set()
    return names


def spellings() -> dict[str, Counter[str]]:
    """name -> {module: how many string constants spell it there}, outside the allowed places."""
    names = wire_names()
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(names)) + r")(?![A-Za-z0-9_])")
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for module, tree in _modules():
        if _is_contract(module):
            continue
        allowed = _docstrings(tree)
        if _is_dialect(module):
            for _, value in _declarations(tree):
                allowed |= {id(c) for c in _map_entries(value) if c.value in names}
        for constant in _strings(tree):
            if id(constant) in allowed:
                continue
            for name in set(pattern.findall(constant.value)):
                found[name][module] += 1
    return found


def test_the_wire_names_are_found() -> None:
    """The scan sees the names it guards (a broken scan would pass everything)."""
    names = wire_names()
    expected = {
        "inputImageFirstUrl",
        "inputImageFirst",
        "callbackUrl",
        "first_frame_image",
        "subject_reference",
        "input_reference",
    }
    assert expected <= names, expected - names


def test_no_new_spelling_of_a_wire_name() -> None:
    found = spellings()
    counts = {name: sum(where.values()) for name, where in found.items()}
    new = {n: c for n, c in counts.items() if c > DEBT.get(n, 0)}
    paid = {n: c for n, c in DEBT.items() if counts.get(n, 0) < c}
    where = {n: dict(found[n]) for n in new}
    assert not new, (
        f"wire names spelled as string literals outside contract.py and the name maps: {where}; "
        "use the contract's (or the dialect map's) constant instead"
    )
    assert not paid, (
        f"debt paid (thank you): lower DEBT to { ({n: counts.get(n, 0) for n in paid}) }"
    )


def _stored_keys() -> set[str]:
    """Every key a task's stored parameters can hold: a RunInput with every field set."""
    from subject2video.contract import RunInput

    run = RunInput(
        image_url="https://example.com/a.jpg", prompt="p", seed="1", callback_url="https://x",
        seconds=4, short_side=480, size=(640, 480), model="m", remix_of=1, voice="male",
        audio_url="https://example.com/a.wav", framing="photo", audio_upload="a.wav",
        audio_parameter="audio", follow_speech=True, made_frames=120,
    )  # fmt: skip
    return set(run.parameters()) | set(RunInput(upload="a.jpg").parameters())


def _contract_constants() -> dict[str, str]:
    """The contract's declared names: each input's `name` and every UPPER_CASE string constant."""
    from subject2video import contract

    declared = {p.name: f"{p.name} input" for p in contract.INPUTS}
    for name, value in vars(contract).items():
        if name.isupper() and isinstance(value, str):
            declared.setdefault(value, name)
    return declared


def test_every_stored_parameter_key_is_declared_once_in_the_contract() -> None:
    """The keys that are no caller's input (`audioParam`, `followSpeech`, `frames`, ...) are
    declared like the inputs: a named constant (or an input's `name`) in contract.py, so that
    nothing else spells them."""
    keys = _stored_keys()
    assert {"followSpeech", "frames", "audioParam", "inputAudio"} <= keys
    missing = keys - set(_contract_constants())
    assert not missing, f"stored parameter keys without a contract constant: {missing}"


def test_the_task_layer_spells_no_stored_parameter_key() -> None:
    """tasks/ reads and writes stored parameters through the contract's constants: a key spelled
    there as a literal (`{**task.parameters, "frames": n}`) is a second spelling. (Scanned as
    dict keys, subscripts and `.get`s; the keys no input declares, as "size" or "seconds" are
    ordinary words of other records there.)"""
    from subject2video.contract import INPUTS

    keys = _stored_keys() - {p.name for p in INPUTS}
    assert "frames" in keys
    found: list[str] = []
    for module, tree in _modules():
        if not module.startswith("tasks/"):
            continue
        for node in ast.walk(tree):
            spots: list[ast.AST | None] = []
            if isinstance(node, ast.Dict):
                spots = list(node.keys)
            elif isinstance(node, ast.Subscript):
                spots = [node.slice]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get":
                spots = node.args[:1]
            for spot in spots:
                if isinstance(spot, ast.Constant) and spot.value in keys:
                    found.append(f"{module}:{spot.lineno} {spot.value!r}")
    assert not found, f"stored parameter keys spelled outside the contract: {found}"
