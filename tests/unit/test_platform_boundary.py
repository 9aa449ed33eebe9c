"""Everything a platform decides lives in its package under socialcare/platforms: this test reads the rest of
the code (its syntax tree, not its text) and fails when it branches on a platform's name or reaches into one
platform's package instead of asking the registry."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialcare.platforms import registry

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS_DIR = ROOT / "shared" / "socialcare" / "platforms"
CHECKED = [ROOT / "shared" / "socialcare", ROOT / "functions", ROOT / "infra"]
# The shared parts of the platforms package: what the rest of the code may import.
GENERIC_MODULES = {
    "socialcare.platforms",
    "socialcare.platforms.base",
    "socialcare.platforms.local",
    "socialcare.platforms.registry",
    "socialcare.platforms.metrics",
    # The platform side of satisfaction surveys, asking the adapters (private_reply, can_follow_up).
    "socialcare.platforms.surveys",
    # The credentials check over every adapter's check_credentials.
    "socialcare.platforms.credentials",
}
# Names people may type for a platform we have, which code outside the adapters must not test for either.
ALIASES = {"twitter", "messenger", "meta", "fb", "ig"}


def platform_names() -> set[str]:
    return set(registry.named_platforms()) | {adapter.webhook for adapter in registry.webhooks()} | ALIASES


def modules() -> Iterator[Path]:
    for folder in CHECKED:
        for path in sorted(folder.rglob("*.py")):
            if PLATFORMS_DIR not in path.parents and ".venv" not in path.parts:
                yield path


def _constants(node: ast.AST) -> Iterator[ast.Constant]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child


def _imported_modules(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not isinstance(node, ast.ImportFrom) or not node.module:
        return set()
    if node.module == "socialcare.platforms":  # `from socialcare.platforms import x` imports a package
        return {f"{node.module}.{alias.name}" for alias in node.names}
    return {node.module}


def violations(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []

    def where(node: ast.AST, what: str) -> None:
        name = path.relative_to(ROOT) if ROOT in path.parents else path.name
        found.append(f"{name}:{getattr(node, 'lineno', '?')}: {what}")

    for node in ast.walk(tree):
        # A comparison, a membership test, a match case, a dict key or an index with a platform's name.
        decisions: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            decisions = [node.left, *node.comparators]
        elif isinstance(node, ast.match_case):
            decisions = [node.pattern]
        elif isinstance(node, ast.Dict):
            decisions = [key for key in node.keys if key is not None]
        elif isinstance(node, ast.Subscript):
            decisions = [node.slice]
        for part in decisions:
            for constant in _constants(part):
                if constant.value in names:
                    where(constant, f"decides on the platform name {constant.value!r}")
        for module in _imported_modules(node):
            if module.startswith("socialcare.platforms.") and module not in GENERIC_MODULES:
                where(node, f"imports {module}: ask socialcare.platforms.registry instead")
    return found


@pytest.mark.parametrize("path", list(modules()), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_outside_the_platforms_package_names_a_platform(path: Path) -> None:
    assert violations(path, platform_names()) == []


def test_the_check_finds_a_branch_on_a_platform_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from socialcare.platforms.x import replies\n"
        "def limit(platform):\n"
        "    if platform == 'x':\n"
        "        return 280\n"
        "    return {'facebook': 8000}.get(platform)\n"
    )
    found = violations(sample, platform_names())
    assert len(found) == 3, found
