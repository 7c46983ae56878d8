"""The Python API driven the way a Stable-Baselines3 user drives SB3's: the names, defaults and meanings."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from muzero import (
    BaseCallback,
    CheckpointCallback,
    EvalCallback,
    MuZero,
    StopTrainingOnRewardThreshold,
)
from muzero.envs.make import EnvSource
from muzero.errors import ConfigError
from muzero.model.device import resolve_device


@pytest.fixture
def tiny_agent(tiny_sb3_sets):
    """``tiny_agent(**kwargs)``: a silent CartPole agent on the tiny run with 16 environments, seed 0."""
    return lambda **kwargs: MuZero("CartPole-v1", seed=0, verbose=0, overrides=tiny_sb3_sets, **kwargs)


class StopAfter(BaseCallback):
    """SB3 style: counts calls, records the hooks it saw, stops after ``calls`` steps."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls
        self.seen: list[str] = []

    def on_training_start(self) -> None:
        self.seen.append("start")

    def _on_step(self) -> bool:
        self.seen.append(f"step {self.num_timesteps}")
        return self.n_calls < self.calls

    def on_training_end(self) -> None:
        self.seen.append("end")


def test_learn_counts_timesteps_as_sb3_does(tiny_agent):
    agent = tiny_agent()
    assert agent.learn(64) is agent
    assert agent.num_timesteps == 64
    agent.learn(64, reset_num_timesteps=False)  # SB3: the counter carries on
    assert agent.num_timesteps == 128
    agent.learn(32)  # SB3: the counter restarts; the agent still trained on everything
    assert (agent.num_timesteps, agent.total_env_steps) == (32, 160)
    assert agent.trainer.learner.steps > 0


def test_a_callback_returning_false_stops_training_and_its_hooks_run_in_order(tiny_agent):
    agent = tiny_agent()
    stopper = StopAfter(calls=2)
    agent.learn(10_000, callback=stopper)
    assert agent.num_timesteps == 32
    assert stopper.seen == ["start", "step 16", "step 32", "end"]
    assert agent.last_outcome.status == "stopped"


def test_predict_has_sb3s_signature_for_one_observation_and_a_batch_with_and_without_masks(tiny_agent):
    agent = tiny_agent()
    agent.learn(32)
    observation, _ = gym.make("CartPole-v1").reset(seed=0)
    action, state = agent.predict(observation)
    assert isinstance(action, int) and action in (0, 1) and state is None
    greedy, _ = agent.predict(observation, state=None, episode_start=None, deterministic=True)
    assert all(agent.predict(observation, deterministic=True)[0] == greedy for _ in range(3))
    assert agent.predict(observation, action_masks=np.array([False, True]))[0] == 1
    batch = np.stack([observation] * 4)
    assert agent.predict(batch)[0].shape == (4,)
    masked, _ = agent.predict(batch, action_masks=np.array([[True, False]] * 4), deterministic=True)
    assert masked.tolist() == [0, 0, 0, 0]


def test_predict_deterministic_searches_with_greedy_simulations_and_a_draw_with_num_simulations(tiny_sb3_sets):
    agent = MuZero("CartPole-v1", seed=0, verbose=0, overrides=[*tiny_sb3_sets, "search.greedy_simulations=9"])
    calls = []
    recurrent = agent.model.recurrent_inference

    def counted(embedding, action):
        calls.append(len(action))
        return recurrent(embedding, action)

    agent.model.recurrent_inference = counted
    observation, _ = gym.make("CartPole-v1").reset(seed=0)
    agent.predict(observation, deterministic=True)
    assert len(calls) == 9
    calls.clear()
    agent.predict(observation)
    assert len(calls) == agent.config.search.num_simulations != 9


@pytest.fixture
def saved_agent(tiny_agent, tmp_path):
    """An agent trained for 48 steps and the file ``save`` wrote it to."""
    agent = tiny_agent()
    agent.learn(48)
    return agent, agent.save(tmp_path / "cartpole")


def test_save_writes_one_file_and_adds_pt_as_sb3_adds_zip(saved_agent, tmp_path):
    _, path = saved_agent
    assert path == tmp_path / "cartpole.pt" and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cartpole.pt"]


def test_load_without_an_environment_makes_none_and_predicts_what_the_saved_agent_predicts(saved_agent, monkeypatch):
    agent, path = saved_agent

    def no_environments(*args, **kwargs):
        raise AssertionError("loading to predict must not make an environment")

    batch = np.stack([gym.make("CartPole-v1").reset(seed=s)[0] for s in range(4)])
    with monkeypatch.context() as patch:
        patch.setattr(gym, "make", no_environments)
        patch.setattr(gym, "make_vec", no_environments)
        patch.setattr(EnvSource, "make", no_environments)
        loaded = MuZero.load(path)
        assert loaded.trainer is None
        assert (
            loaded.predict(batch, deterministic=True)[0].tolist()
            == agent.predict(batch, deterministic=True)[0].tolist()
        )
    assert loaded.num_timesteps == loaded.total_env_steps == 48
    # Given no environment, it makes its recorded one when asked to learn.
    loaded.learn(16)
    assert loaded.total_env_steps == 64


def test_load_with_an_environment_continues_training_where_the_saved_agent_stopped(saved_agent):
    agent, path = saved_agent
    resumed = MuZero.load(path, env="CartPole-v1", verbose=0)
    assert resumed.trainer.learner.steps == agent.trainer.learner.steps
    assert resumed.config == agent.config
    resumed.learn(32, reset_num_timesteps=False)
    assert resumed.total_env_steps == 80


def test_ready_made_callbacks_compose_in_a_list(tiny_agent, tmp_path):
    agent = tiny_agent()
    checkpoints = CheckpointCallback(save_freq=32, save_path=tmp_path / "checkpoints", name_prefix="cp")
    evaluation = EvalCallback(
        n_eval_episodes=2, eval_freq=32, best_model_save_path=tmp_path / "best", log_path=tmp_path / "logs", verbose=0
    )
    agent.learn(96, callback=[checkpoints, evaluation])
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "cp_32_steps.pt",
        "cp_64_steps.pt",
        "cp_96_steps.pt",
    ]
    assert evaluation.evaluations_timesteps == [32, 64, 96]
    assert evaluation.best_mean_reward == max(np.mean(r) for r in evaluation.evaluations_results)
    assert (tmp_path / "best" / "best_model.pt").is_file()
    logged = np.load(tmp_path / "logs" / "evaluations.npz")
    assert logged["timesteps"].tolist() == [32, 64, 96]
    best = MuZero.load(tmp_path / "best" / "best_model.pt")
    assert best.total_env_steps in (32, 64, 96)

    # SB3's pattern: stop on a new best that reaches the threshold.
    agent = tiny_agent()
    stop = StopTrainingOnRewardThreshold(reward_threshold=1.0)
    agent.learn(10_000, callback=EvalCallback(callback_on_new_best=stop, n_eval_episodes=2, eval_freq=32, verbose=0))
    assert agent.num_timesteps == 32


def test_stop_on_threshold_alone_and_without_it(tiny_agent, tiny_sb3_sets, tmp_path):
    # Without the callback, learn() trains every step asked for, solved or not (SB3's meaning).
    easy = ["eval.solve_threshold=1", *tiny_sb3_sets]
    agent = MuZero("CartPole-v1", seed=0, verbose=0, overrides=easy)
    agent.learn(96)
    assert agent.trainer.counters.solved and agent.num_timesteps == 96
    # With it (what the command line adds): stop at the confirmed solve.
    agent = MuZero("CartPole-v1", seed=0, verbose=0, overrides=easy)
    agent.learn(96, callback=StopTrainingOnRewardThreshold())
    assert agent.num_timesteps == 32 and agent.last_outcome.status == "solved"
    # With an explicit threshold: stop at the first periodic evaluation reaching it.
    agent = tiny_agent()
    agent.learn(96, callback=StopTrainingOnRewardThreshold(reward_threshold=-1.0))
    assert agent.num_timesteps == 32 and agent.last_outcome.status == "stopped"


def test_building_or_loading_an_agent_leaves_global_torch_settings_alone(tiny_sb3_sets, tmp_path):
    before = torch.get_num_threads()
    threads = 1 if before != 1 else 2
    agent = MuZero("CartPole-v1", verbose=0, overrides=[*tiny_sb3_sets, f"run.threads={threads}"])
    path = agent.save(tmp_path / "agent.pt")
    MuZero.load(path)
    assert torch.get_num_threads() == before

    class ThreadProbe(BaseCallback):
        def _on_step(self) -> bool:
            self.threads = torch.get_num_threads()
            return True

    probe = ThreadProbe()
    agent.learn(16, callback=probe)
    assert probe.threads == threads  # applied where training runs ...
    assert torch.get_num_threads() == before  # ... and restored


def test_overrides_as_dict_or_list_and_devices(tiny_agent):
    as_dict = MuZero("CartPole-v1", verbose=0, overrides={"search.num_simulations": 7, "eval.interval": 1_000})
    as_list = MuZero(
        "CartPole-v1",
        verbose=0,
        overrides=["search.num_simulations=7", "eval.interval=1_000"],
    )
    assert as_dict.config == as_list.config
    assert (as_dict.config.search.num_simulations, as_dict.config.eval.interval) == (7, 1_000)
    with pytest.raises(ConfigError, match="did you mean 'search.num_simulations'"):
        MuZero("CartPole-v1", verbose=0, overrides={"search.num_simulation": 7})

    agent = tiny_agent(device="cpu")
    assert agent.config.run.device == "cpu"
    assert {p.device.type for p in agent.network.parameters()} == {"cpu"}
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="not a device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            tiny_agent(device="cuda")


def test_progress_output_follows_verbose_and_progress_bar(tiny_agent, capsys):
    agent = tiny_agent()  # verbose=0: silent
    agent.learn(16)
    assert capsys.readouterr().err == ""
    agent.learn(16, progress_bar=True)  # a self-updating status line even when verbose is 0
    err = capsys.readouterr().err
    assert "\r" in err and "env steps 32/32" in err  # every step the agent took, against the budget
