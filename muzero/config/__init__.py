"""One frozen, nested configuration per run.

Every field carries a one-line description (listed by ``muzero train --help``)
and, where it has one, its valid range; a config is validated when it is built, so a
bad value fails at once with the field's name and range instead of deep in training.

What can be set is in ``schema`` and reads top to bottom; the machinery sits beside it:
``fields`` (``param`` and the checks on construction), ``convert`` (dicts, TOML, ``--set``
strings) and ``reference`` (the keys' list and the Markdown table). Presets are TOML files
resolved into a ``Config`` (see ``muzero.presets``).
"""

from muzero.config.convert import parse_value
from muzero.config.fields import param
from muzero.config.reference import field_docs, field_types, markdown_reference
from muzero.config.schema import (
    VECTORIZATION,
    ActingConfig,
    Config,
    DistributedConfig,
    EnvConfig,
    EvalConfig,
    LearnerConfig,
    NetworkConfig,
    ReplayConfig,
    RunConfig,
    SearchConfig,
)

__all__ = [
    "VECTORIZATION",
    "ActingConfig",
    "Config",
    "DistributedConfig",
    "EnvConfig",
    "EvalConfig",
    "LearnerConfig",
    "NetworkConfig",
    "ReplayConfig",
    "RunConfig",
    "SearchConfig",
    "field_docs",
    "field_types",
    "markdown_reference",
    "param",
    "parse_value",
]
