"""The table's layout lives in socialcare.data: this test reads the rest of the code (its syntax tree) and
fails when a module outside data/ names an index attribute (gsi1pk, gsi2sk, ...) or an index, or reads a
table stream record's raw image; and it checks that the README's table map lists every entity of
socialcare.data.table_map."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from socialcare.data.table_map import ENTITIES, INDEX_ATTRIBUTES, INDEXES

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "shared" / "socialcare" / "data"
CHECKED = [ROOT / "shared" / "socialcare", ROOT / "functions"]
INDEX_NAMES = {index.name for index in INDEXES}
# What a module outside data/ must not say in code: an index's attributes or name, or DynamoDB's key names
# for a stream record's images (the handlers get parsed images from Powertools and hand them to data/).
FORBIDDEN = re.compile(r"\b(?:" + "|".join(sorted(INDEX_ATTRIBUTES | INDEX_NAMES)) + r")\b")
RAW_IMAGES = {"NewImage", "OldImage"}


def modules() -> Iterator[Path]:
    for folder in CHECKED:
        for path in sorted(folder.rglob("*.py")):
            if DATA_DIR not in path.parents and ".venv" not in path.parts:
                yield path


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    where = path.relative_to(ROOT) if ROOT in path.parents else path.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if FORBIDDEN.search(node.value) or node.value in RAW_IMAGES:
                found.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in INDEX_ATTRIBUTES:
                found.append(f"{where}:{node.lineno}: {name}")
    return found


def test_no_module_outside_data_names_an_index_attribute() -> None:
    found = [line for path in modules() for line in violations(path)]
    assert not found, "index attributes outside socialcare.data:\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstrings may say gsi2."""\n'
        'fields = {"gsi2pk": "PENDING"}\n'
        'query = {"IndexName": "gsi1"}\n'
        'image = record["dynamodb"]["NewImage"]\n'
    )
    assert len(violations(sample)) == 3


def test_the_readme_table_map_lists_every_entity() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### The table map") :]
    missing = [entity.name for entity in ENTITIES if f"| `{entity.name}` |" not in section]
    assert not missing, f"entities missing from the README's table map: {missing}"
