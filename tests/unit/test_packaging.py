"""pyproject.toml is the single source of dependencies: the layer's requirements.txt must not drift."""

from infra.deploy.layer_requirements import LAYER_REQUIREMENTS, layer_requirements


def test_layer_requirements_match_pyproject() -> None:
    assert LAYER_REQUIREMENTS.read_text() == layer_requirements(), (
        "shared/requirements.txt differs from pyproject.toml: run `make layer-requirements`"
    )
