"""The docs match the code: the front page's commands and example, the generated tables, the site's build."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from muzero.config import markdown_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()


def load_render():
    spec = importlib.util.spec_from_file_location("render", DOCS / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = load_render()


def section(heading: str) -> str:
    return README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def readme_example() -> str:
    return re.search(r"```python\n(.*?)```", section("Python example"), re.S).group(1)


# -- The front page -------------------------------------------------------------------------------------------


def test_quick_start_has_two_commands_and_ci_runs_the_test_one():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "muzero train" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250
    headings = re.findall(r"^## (.*)$", README, re.M)
    assert headings[:6] == [
        "Quick start",
        "Python example",
        "Results at a glance",
        "What is supported",
        "Command line",
        "Where to go next",
    ]
    assert "![" in README.split("## Quick start")[0] and "docs/agent.gif" in README
    assert "<!-- table:glance -->" in section("Results at a glance")
    assert len(readme_example().strip().splitlines()) <= 10


def test_the_readme_example_calls_the_api_with_real_names_and_signatures():
    import muzero
    from muzero.app.agent import MuZero

    tree = ast.parse(readme_example())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "muzero":
            for alias in node.names:
                assert alias.name in muzero.__all__ and getattr(muzero, alias.name) is not None
    agents = {"agent", "MuZero"}
    checked = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "MuZero":
            function, bound = MuZero, []
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if node.func.value.id not in agents:
                continue
            function = getattr(MuZero, node.func.attr)  # AttributeError: the example names a method that is gone
            bound = [None] if node.func.value.id == "agent" else []  # self of a method called on an instance
        else:
            continue
        arguments = [None] * len(node.args)
        keywords = {keyword.arg: None for keyword in node.keywords}
        inspect.signature(function).bind(*bound, *arguments, **keywords)  # TypeError: a wrong signature
        checked.add(getattr(function, "__name__", "MuZero"))
    assert {"MuZero", "learn", "predict", "save", "load"} <= checked


@pytest.mark.slow
def test_the_readme_example_runs_on_a_tiny_budget(tmp_path, monkeypatch):
    tree = ast.parse(readme_example())
    learns = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "learn"
    ]
    assert len(learns) == 1 and isinstance(learns[0].args[0], ast.Constant)
    learns[0].args[0] = ast.copy_location(ast.Constant(64), learns[0].args[0])  # a few batched steps, not a run
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(tree, "README.md", "exec"), namespace)
    assert (tmp_path / "cartpole.pt").exists()
    assert namespace["action"] in (0, 1)


# -- Generated blocks -----------------------------------------------------------------------------------------


def test_the_configuration_page_is_current():
    # Regenerate with: python docs/render.py
    assert markdown_reference() in (DOCS / "configuration.md").read_text()


def test_every_generated_block_is_what_the_data_renders():
    stale = [str(page.relative_to(ROOT)) for page in render.stale()]
    assert not stale, f"stale generated blocks in {stale}; rerun: python docs/render.py"


def test_every_data_file_says_where_its_figures_come_from():
    for path in sorted(render.DATA.glob("*.json")):
        provenance = json.loads(path.read_text())["provenance"]
        assert {"command", "date", "machine", "threads"} <= set(provenance), path.name
        carried = provenance.get("carried_over_from")
        commit = carried["commit"] if carried else provenance["commit"]
        assert re.fullmatch(r"[0-9a-f]{40}", commit), path.name
        if carried:
            assert carried["file"] == "README.md", path.name


def test_measured_and_carried_over_files_both_render():
    run = {"seed": 0, "solved": True, "env_steps_to_solve": 1008, "seconds_to_solve": 10.9}
    run |= {"final_eval_mean": 500.0, "final_eval_min": 500.0, "total_env_steps": 1008}
    result = {"runs": [run], "solved": 1, "seeds": 1, "median_env_steps_to_solve": 1008}
    result |= {"worst_env_steps_to_solve": 1008, "median_seconds_to_solve": 10.9}
    measured = {
        "provenance": {"command": "c", "commit": "a" * 40, "date": "2027-01-01", "machine": "m", "threads": 2},
        "view": "solve_seeds",
        "result": result,
        "figures": {"median": {"result": "median_env_steps_to_solve"}},
    }
    carried = {
        "provenance": {"carried_over_from": {"commit": "b" * 40, "file": "README.md"}, "command": None},
        "columns": ["what", "steps"],
        "rows": [["[new](results/new.md)", "{new.median}"]],
    }
    data = {"new": measured, "old": carried}
    new = render.render_table("new", data)
    assert "| 0 | yes | 1,008 | 10.9 | 500.0 (500.0) |" in new
    assert "measured at commit aaaaaaaa on 2027-01-01, 2 threads" in new
    old = render.render_block("old", data, DOCS / "results" / "index.md")
    assert "| [new](new.md) | 1,008 |" in old
    assert "carried over from README.md at commit bbbbbbbb" in old
    with pytest.raises(render.RenderError):
        render.render_table("missing", data)


def test_every_image_in_docs_is_shown_on_a_page():
    pages = "\n".join(page.read_text() for page in DOCS.rglob("*.md"))
    for image in [*DOCS.rglob("*.png"), *DOCS.rglob("*.svg"), *DOCS.rglob("*.gif")]:
        assert image.name in pages, f"{image.relative_to(ROOT)} is on no page"


# -- The site -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    # --strict turns every warning into a failure: a broken link or anchor, a missing page or snippet, an API
    # name that no longer exists.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")]
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "site" / "reference" / "agent" / "index.html").exists()


def test_every_dotted_name_the_docs_cite_exists():
    """`muzero.search.puct.select_action` in prose must name a real module or object: renamed code
    would otherwise leave the theory page and the notebook pointing at nothing (mkdocs checks only the
    API pages)."""
    import importlib

    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "notebooks" / "muzero_cartpole.py"]
    missing = []
    for path in files:
        for name in sorted(set(re.findall(r"`(muzero(?:\.\w+)+)", path.read_text()))):
            parts = name.split(".")
            for split in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
                try:
                    found = importlib.import_module(".".join(parts[:split]))
                    break
                except ImportError:
                    continue
            for attr in parts[split:]:
                found = getattr(found, attr, None)
            if found is None:
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing
