"""Configuration: validation, overrides from the command line, and round trips through plain data."""

from __future__ import annotations

import dataclasses
import json
import re
import typing

import pytest

from muzero.config import Config, field_docs
from muzero.errors import ConfigError
from muzero.presets import get_preset


def test_defaults_round_trip_through_json():
    config = Config()
    again = Config.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_set_parses_each_type():
    config = Config().with_sets(
        [
            "search.num_simulations=50",
            "discount=0.99",
            "learner.reanalyse_values=false",
            "acting.temperatures=1,0.5",
            "acting.temperature_env_steps=0,1_000",
            "eval.solve_threshold=none",
            "env.id=Acrobot-v1",
        ]
    )
    assert config.search.num_simulations == 50
    assert config.discount == 0.99
    assert config.learner.reanalyse_values is False
    assert config.acting.temperatures == (1.0, 0.5)
    assert config.acting.temperature_env_steps == (0, 1000)
    assert config.eval.solve_threshold is None
    assert config.env.id == "Acrobot-v1"


def test_set_takes_tuples_in_the_spellings_people_type():
    for raw in ("1,0.5", "(1, 0.5)", "[1.0, 0.5]", "[1.0,0.5]"):
        assert Config().with_sets([f"acting.temperatures={raw}"]).acting.temperatures == (1.0, 0.5)
    for raw in ('["a=1", "b=2"]', "['a=1', 'b=2']", "a=1,b=2", "[a=1, b=2]"):  # strings quoted as in TOML, or not
        assert Config().with_sets([f"env.kwargs={raw}"]).env.kwargs == ("a=1", "b=2")


def test_misspelled_key_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'search.num_simulations'"):
        Config().with_sets(["search.num_simulation=3"])
    with pytest.raises(ConfigError, match="did you mean 'search.num_simulations'"):
        Config().with_sets(["num_simulations=3"])


def test_out_of_range_names_the_field_and_range():
    with pytest.raises(ConfigError, match=r"search.num_simulations = 0 is out of range: it must lie in \[1, inf\]"):
        Config().with_sets(["search.num_simulations=0"])
    with pytest.raises(ConfigError, match=r"discount = 1.5 .* \[0.0, 1.0\]"):
        Config().with_sets(["discount=1.5"])
    with pytest.raises(ConfigError, match="learner.learning_rate"):
        Config().with_sets(["learner.learning_rate=0"])


def test_wrong_type_is_reported():
    with pytest.raises(ConfigError, match="search.num_simulations expects int, got 'many'"):
        Config().with_sets(["search.num_simulations=many"])
    with pytest.raises(ConfigError, match="expects key=value"):
        Config().with_sets(["search.num_simulations"])


def test_inconsistent_schedules_are_refused():
    with pytest.raises(ConfigError, match="same length"):
        Config().with_sets(["acting.temperatures=1,0.5,0.25"])


def test_unknown_key_in_plain_data():
    data = Config().to_dict()
    data["search"]["simulations"] = 5
    with pytest.raises(ConfigError, match="unknown config key 'search.simulations'; did you mean 'search.num_sim"):
        Config.from_dict(data)
    with pytest.raises(ConfigError, match="config section search must be a mapping"):
        Config.from_dict({"search": 5})


def test_every_field_is_documented():
    rows = field_docs()

    def leaves(cls: type, prefix: str = "") -> list[str]:  # every leaf field, found independently of field_docs
        found = []
        for f in dataclasses.fields(cls):
            kind = typing.get_type_hints(cls)[f.name]
            is_section = dataclasses.is_dataclass(kind)
            found += leaves(kind, f"{prefix}{f.name}.") if is_section else [prefix + f.name]
        return found

    assert [key for key, *_ in rows] == leaves(Config)
    for key, _, _, text in rows:
        assert text and len(text) > 10, key


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ConfigError, match="known presets: acrobot, atari, cartpole"):
        get_preset("cartpol")


def test_presets_are_data_keyed_by_environment_id(monkeypatch):
    from muzero import presets

    assert presets.preset_for_env("CartPole-v1") == "cartpole"
    assert presets.resolve(None, None)[1] == "cartpole"
    assert presets.resolve("CartPole-v1", None)[1] == "cartpole"
    config, name = presets.resolve("CartPole-v1", "generic")  # --preset generic forces the generic one
    assert name == "generic" and config.env.id == "CartPole-v1" and config != presets.cartpole()
    config, name = presets.resolve("Blackjack-v1", None)  # no preset tuned for it: the generic one
    assert name == "generic" and config.env.id == "Blackjack-v1" and config == presets.generic("Blackjack-v1")
    # CartPole's preset is the defaults (tuned on it) plus the one fact about it: an episode returns at most 500.
    assert presets.cartpole() == Config().with_sets(["eval.max_episode_return=500"])
    for name in presets.preset_names():  # every shipped preset builds, and every value it sets takes effect
        config = presets.get_preset(name).to_dict()
        for section, values in presets._load_all()[name].items():
            if section == "preset":
                continue
            for key, value in values.items() if isinstance(values, dict) else [(None, values)]:
                got = config[section] if key is None else config[section][key]
                same = list(got) == list(value) if isinstance(value, list) else got == value
                assert same, (name, section, key, got, value)
    # A preset file is plain TOML: a broken key is reported with the preset's name.
    broken = presets.tomllib.loads('[preset]\ndescription = "x"\n[search]\nnum_simulation = 5\n')
    monkeypatch.setattr(presets, "_load_all", lambda: {"broken": broken})
    with pytest.raises(ConfigError, match="preset 'broken': unknown config key 'search.num_simulation'"):
        presets.get_preset("broken")


def test_a_configuration_key_inside_the_preset_table_is_refused(monkeypatch):
    from muzero import presets

    assert presets.get_preset("tictactoe").discount == 0.99  # the shipped games' discount is really read
    data = {"preset": {"env_id": "CartPole-v1", "description": "x", "discount": 1.0}}  # TOML: discount under [preset]
    monkeypatch.setattr(presets, "_load_all", lambda: {"broken": data})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) discount in its \[preset\] table"):
        presets.get_preset("broken")


def test_every_row_of_the_configuration_table_has_four_cells():
    # An unescaped "|" in a help string (e.g. "|v - z|") once split its row into more cells.
    from muzero.config import field_docs, markdown_reference

    rows = markdown_reference().splitlines()[2:]
    assert len(rows) == len(field_docs())
    for row in rows:
        cells = [c for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert len(cells) == 4, row
