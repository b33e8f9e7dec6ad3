"""The type stubs of the compiled module (src/raingan/_native.pyi) name what it has."""

import ast
from pathlib import Path

from raingan import _native

STUB = Path(__file__).resolve().parents[1] / "src" / "raingan" / "_native.pyi"


def public(names) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def test_stubs_list_every_public_function_class_and_method():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    top = {node.name: node for node in tree.body
           if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert set(top) == public(dir(_native)) - {"annotations"}
    for name, node in top.items():
        if isinstance(node, ast.ClassDef):
            members = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            assert public(members) == public(dir(getattr(_native, name))), name
