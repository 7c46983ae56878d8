"""MkDocs hooks: the notebook page is built from the notebook itself, so it cannot drift from it.

``docs/notebook.md`` holds the marker ``<!-- notebook -->``; at build time it is replaced by
``notebooks/muzero_cartpole.py`` (jupytext's percent format, the notebook's text twin): Markdown cells as
Markdown, one heading level down, code cells as Python blocks. The site also carries the ``.ipynb`` itself,
so the page can offer it for download without a network.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "muzero_cartpole.py"
IPYNB = ROOT / "notebooks" / "muzero_cartpole.ipynb"
MARKER = "<!-- notebook -->"
CELL = re.compile(r"^# %%(?P<kind>.*)$", re.M)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, IPYNB.name, abs_src_path=str(IPYNB)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, notebook_markdown(NOTEBOOK.read_text()))


def notebook_markdown(text: str) -> str:
    """A percent-format notebook as Markdown, its links from notebooks/ made links within docs/."""
    parts = CELL.split(text)  # [jupytext header, kind, body, kind, body, ...]
    blocks = []
    for kind, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip("\n")
        if "[markdown]" in kind:
            lines = [re.sub(r"^# ?", "", line) for line in body.splitlines()]
            markdown = "\n".join(lines)
            markdown = re.sub(r"^(#+) ", r"#\1 ", markdown, flags=re.M)  # the page's title stays the only h1
            markdown = markdown.replace("](../docs/", "](").replace("](../README.md)", "](index.md)")
            blocks.append(markdown)
        elif body:
            blocks.append(f"```python\n{body}\n```")
    return "\n\n".join(blocks) + "\n"
