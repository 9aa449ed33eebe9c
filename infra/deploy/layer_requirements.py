"""Writes shared/requirements.txt, what `sam build` installs into the layer, from pyproject.toml's runtime
dependencies: pyproject.toml stays the single source of dependencies."""

import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = REPO_ROOT / "shared" / "requirements.txt"
HEADER = "# Generated from pyproject.toml by `make layer-requirements`; do not edit.\n"


def layer_requirements() -> str:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return HEADER + "".join(f"{requirement}\n" for requirement in project["dependencies"])


def main() -> None:
    LAYER_REQUIREMENTS.write_text(layer_requirements())
    print(f"wrote {LAYER_REQUIREMENTS.relative_to(REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
