"""Runs that survive: reproducibility, divergence, checkpoints and the Python API."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from muzero.app.agent import MuZero
from muzero.app.checkpoint import load_checkpoint
from muzero.app.runner import start_run, train
from muzero.errors import CheckpointError
from muzero.training.trainer import Trainer


def learning_rows(run_dir: Path) -> list[tuple[str, str, str, str]]:
    """Every metric row except wall-clock time and speed, which legitimately differ between runs."""
    with open(run_dir / "metrics.csv") as file:
        return [
            (r["tag"], r["value"], r["env_steps"], r["train_steps"])
            for r in csv.DictReader(file)
            if r["tag"] != "charts/SPS"
        ]


def test_same_seed_and_config_give_identical_learning_metrics(tiny_config, tmp_path):
    runs = []
    for name in ("a", "b"):
        trainer = start_run(tiny_config(128), tmp_path / name, "test")
        train(trainer, tmp_path / name, progress=False, artifacts=False)
        runs.append(learning_rows(tmp_path / name))
    assert len(runs[0]) > 20
    assert any(tag.startswith("losses/") for tag, *_ in runs[0])
    assert runs[0] == runs[1]
    # A different seed gives different metrics (so the comparison above can fail).
    trainer = start_run(tiny_config(128, "run.seed=1"), tmp_path / "c", "test")
    train(trainer, tmp_path / "c", progress=False, artifacts=False)
    assert learning_rows(tmp_path / "c") != runs[0]


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tiny_config, tmp_path):
    run_dir = tmp_path / "nan"
    trainer = start_run(tiny_config(400), run_dir, "test")

    class Poison:
        """After the first checkpoint, turn one weight into NaN."""

        def on_iteration(self, t):
            if t.counters.env_steps >= 48:
                with torch.no_grad():
                    t.network.prediction_net.hidden[0].weight[0, 0] = float("nan")

        def on_episodes(self, *args):
            pass

        def on_train_step(self, *args):
            pass

        def on_eval(self, *args):
            pass

    trainer.observers.append(Poison())
    outcome = train(trainer, run_dir, progress=False, artifacts=False)
    assert outcome.status == "diverged" and outcome.exit_code == 1
    state = load_checkpoint(run_dir)
    assert state["counters"]["env_steps"] == 32
    assert all(torch.isfinite(v).all() for v in state["network"].values())


def test_checkpoint_round_trip_restores_everything(tiny_config, tmp_path):
    agent = MuZero(tiny_config(64), verbose=False)
    agent.learn()
    path = agent.save(tmp_path / "agent.pt")
    loaded = MuZero.load(path, env="CartPole-v1")
    for (name, a), b in zip(
        agent.trainer.network.state_dict().items(), loaded.trainer.network.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert loaded.trainer.config == agent.trainer.config  # the id alone: kwargs and episode limit kept
    assert loaded.trainer.counters.env_steps == 64
    assert loaded.trainer.learner.steps == agent.trainer.learner.steps
    np.testing.assert_array_equal(loaded.trainer.replay.observation, agent.trainer.replay.observation)
    assert loaded.trainer.generators.replay.bit_generator.state == agent.trainer.generators.replay.bit_generator.state
    # Predictions agree.
    observation = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        agent.predict(observation, deterministic=True)[0], loaded.predict(observation, deterministic=True)[0]
    )


def test_predict_single_and_batch(tiny_config):
    agent = MuZero(tiny_config(32), verbose=False)
    action, state = agent.predict(np.zeros(4, np.float32))
    assert isinstance(action, int) and state is None
    actions, _ = agent.predict(np.zeros((3, 4), np.float32), deterministic=False)
    assert actions.shape == (3,)
    legal = np.array([[False, True]] * 3)
    actions, _ = agent.predict(np.zeros((3, 4), np.float32), action_masks=legal)
    assert (actions == 1).all()


def test_predict_takes_the_environments_own_observations_and_masks(tmp_path):
    from tests.fake_envs import DictCorridorEnv

    # An environment given as a factory (a user's own class, not registered), with a Dict observation.
    agent = MuZero(DictCorridorEnv, verbose=False)
    assert agent.config.env.id == "DictCorridorEnv"
    env = DictCorridorEnv()
    observation, info = env.reset(seed=0)
    action, _ = agent.predict(observation, deterministic=True, action_masks=info["action_mask"])
    assert isinstance(action, int) and action in (1, 2)  # "left" is illegal in cell 0
    actions, _ = agent.predict([observation, observation], action_masks=np.array([[0, 0, 1], [0, 1, 0]]))
    assert actions.tolist() == [2, 1]
    stacked = {k: np.stack([v] * 5) for k, v in observation.items()}  # a vector env's batch
    assert agent.predict(stacked)[0].shape == (5,)
    path = agent.save(tmp_path / "corridor.pt")
    # Loaded without its factory, the agent still predicts (the checkpoint records the observation space) ...
    alone = MuZero.load(path)
    assert alone.trainer is None
    assert alone.predict(observation, deterministic=True, action_masks=info["action_mask"])[0] == action
    # ... but cannot continue training on an environment it cannot make.
    with pytest.raises(CheckpointError, match="pass the environment"):
        alone.learn(16)
    loaded = MuZero.load(path, env=DictCorridorEnv)
    assert loaded.predict(observation, deterministic=True, action_masks=info["action_mask"])[0] == action
    loaded.learn(16)
    assert loaded.total_env_steps == 16

    # An environment given by id, with Discrete (integer) observations.
    lake = MuZero("FrozenLake-v1", verbose=False)
    assert isinstance(lake.predict(5)[0], int)
    assert lake.predict(np.array([0, 5, 15]))[0].shape == (3,)


def test_loading_something_else_is_a_checkpoint_error(tmp_path):
    bogus = tmp_path / "bogus.pt"
    torch.save({"hello": torch.zeros(1)}, bogus)
    with pytest.raises(CheckpointError, match="not a muzero checkpoint"):
        MuZero.load(bogus)
    with pytest.raises(CheckpointError, match="no such run directory or checkpoint"):
        MuZero.load(tmp_path / "missing")
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint.pt"):
        MuZero.load(empty)


def test_no_two_evaluations_of_one_or_two_runs_share_an_episode_seed(tiny_config, monkeypatch):
    import muzero.training.trainer as trainer_module

    played: list[tuple[int, int, int]] = []  # (run seed, first episode seed, episodes)
    real = trainer_module.evaluate

    def recording(model, source, episodes, seed, search, *args, **kwargs):
        played.append((current, seed, episodes))
        return real(model, source, episodes, seed, search, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate", recording)
    for current in (0, 1, 2):
        # Threshold 1: the first periodic evaluation is confirmed (solved), the later ones are not.
        trainer = Trainer(tiny_config(96, f"run.seed={current}", "eval.solve_threshold=1"))
        trainer.run()
        trainer.final_evaluation()
    assert len(played) == 3 * 5  # per run: 3 periodic evaluations, 1 confirmation, the final one
    ranges = sorted((first, first + episodes) for _, first, episodes in played)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end <= start, "two evaluations played the same episode seed"
