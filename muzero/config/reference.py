"""The configuration reference, rendered from the schema: the keys' list and the Markdown table.

``muzero train --help`` prints ``field_docs``; the docs' configuration table is ``markdown_reference``,
so neither can drift from the fields' own help strings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from muzero.config.convert import leaf_fields, leaf_types, type_name
from muzero.config.fields import range_text
from muzero.config.schema import Config


def field_types() -> dict[str, Any]:
    """Dotted key -> type hint for every leaf field of ``Config``."""
    return leaf_types(Config)


def field_docs() -> list[tuple[str, str, Any, str]]:
    """(dotted key, type name, default, description) for every leaf field, in declaration order."""
    defaults = Config().to_dict()
    rows = []
    for key, f, hint in leaf_fields(Config):
        section, _, leaf = key.rpartition(".")
        default = defaults[section][leaf] if section else defaults[leaf]
        rows.append((key, type_name(hint), default, _describe(f)))
    return rows


def _describe(f: dataclasses.Field) -> str:
    meta = f.metadata
    if meta.get("low") is None and meta.get("high") is None:
        return meta["help"]
    return f"{meta['help']} Range {range_text(meta)}."


def markdown_reference() -> str:
    """The configuration reference as a Markdown table (the docs' copy is checked against it by a test)."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, type_text, default, text in field_docs():
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        shown = "(empty)" if shown == "" else f"`{shown}`"
        cells = [c.replace("|", "\\|") for c in (type_text, text)]  # a pipe inside a cell would end it
        rows.append(f"| `{key}` | {cells[0]} | {shown} | {cells[1]} |")
    return "\n".join(rows)
