"""The docs match the code: the README's config reference, Quick start and CI command."""

from __future__ import annotations

import re
from pathlib import Path

from muzero.config import markdown_reference

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_config_reference_is_current():
    # Regenerate with: python -c "from muzero.config import markdown_reference; print(markdown_reference())"
    assert markdown_reference() in README


def test_quick_start_has_two_commands_and_ci_runs_the_test_one():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "muzero train" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
