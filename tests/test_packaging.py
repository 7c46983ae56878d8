"""Packaging: every third-party import is declared, one version, a licence, type information."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import muzero

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "PIL": "pillow",
    "tensorboardX": "tensorboardx",
    "imageio_ffmpeg": "imageio",
    "yaml": "pyyaml",
    "ale_py": "ale-py",
}


def declared() -> dict[str, set[str]]:
    """Distribution name -> the requirement groups naming it ('' for the core dependencies)."""
    groups = {"": PYPROJECT["project"]["dependencies"], **PYPROJECT["project"]["optional-dependencies"]}
    names: dict[str, set[str]] = {}
    for group, requirements in groups.items():
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
            names.setdefault(name, set()).add(group)
    return names


def third_party_imports() -> dict[str, bool]:
    """Top-level third-party modules imported by the package -> whether some import of it is at module level."""
    found: dict[str, bool] = {}
    for path in (ROOT / "muzero").rglob("*.py"):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                if root in sys.stdlib_module_names or root in ("muzero", "__future__"):
                    continue
                found[root] = found.get(root, False) or id(node) in top_level
    return found


def test_every_imported_package_is_declared():
    names = declared()
    imports = third_party_imports()
    assert {"torch", "numpy", "gymnasium", "PIL", "tensorboardX"} <= set(imports)
    for module, at_module_level in imports.items():
        distribution = DISTRIBUTION.get(module, module).lower()
        assert distribution in names, f"{module} is imported but {distribution} is not declared"
        if at_module_level:
            assert "" in names[distribution], f"{module} is imported at module level but is only an extra"


def test_one_version_a_licence_and_type_information():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "muzero._version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", muzero.__version__)
    from muzero._version import __version__

    assert muzero.__version__ is __version__  # written once, in muzero/_version.py
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "muzero" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["muzero"]
    for extra in ("box2d", "video", "wandb", "games", "docs", "test"):
        assert extra in PYPROJECT["project"]["optional-dependencies"]
