"""Stable-Baselines3's DQN and PPO on MinAtar with the MinAtar paper's small network, as baselines for muzero.

Runs in the benchmark's own environment, not muzero's (Stable-Baselines3 is no dependency of the package):

    python -m venv sb3env && sb3env/bin/pip install torch==2.13.0 stable-baselines3 minatar gymnasium
    sb3env/bin/python benchmarks/minatar_baselines.py --game Breakout --algo dqn --seed 0 --at 100000 1000000

Prints JSON: for each budget in ``--at`` (environment steps, one training run passing through them all),
the greedy (deterministic) mean return over ``--episodes`` fresh episodes (default 100), its standard
deviation and the seconds trained so far. The environments are muzero's: ``MinAtar/<game>-v1`` (minimal
action set) with MinAtar's defaults (sticky actions 0.1, difficulty ramping) and episodes cut at 10,000
steps, as the ``minatar`` preset has them.

The network (Young & Tian 2019): a 3x3 convolution to 16 channels, ReLU, a linear layer to 128 units,
ReLU, then each algorithm's heads. DQN as in that paper: replay of 100,000, batch 32, RMSProp (centred,
learning rate 2.5e-4, alpha 0.95, eps 0.01), discount 0.99, a target network updated every 1,000 steps,
epsilon from 1 to 0.1 over the first 100,000 steps, training from step 5,000, one update a step. PPO with
rl-zoo's Atari settings: 8 environments, 128 steps each per update, 4 epochs of batches of 256, learning
rate 2.5e-4, clip 0.1, entropy 0.01, value coefficient 0.5.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import gymnasium as gym
import minatar.gym
import numpy as np
import stable_baselines3
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

EPISODE_LIMIT = 10_000


class MinAtarNetwork(BaseFeaturesExtractor):
    """(B, 10, 10, C) object masks -> conv 3x3 to 16 channels -> ReLU -> linear to 128 -> ReLU."""

    def __init__(self, observation_space: gym.spaces.Box) -> None:
        super().__init__(observation_space, features_dim=128)
        height, width, channels = observation_space.shape
        self.conv = nn.Conv2d(channels, 16, 3)
        self.linear = nn.Linear(16 * (height - 2) * (width - 2), 128)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(observations.permute(0, 3, 1, 2).float()))
        return torch.relu(self.linear(x.flatten(1)))


def make_env(game: str) -> gym.Env:
    if f"MinAtar/{game}-v1" not in gym.registry:
        minatar.gym.register_envs()
    return gym.wrappers.TimeLimit(gym.make(f"MinAtar/{game}-v1"), EPISODE_LIMIT)


def evaluate(model, game: str, episodes: int, seed: int) -> tuple[float, float]:
    env = make_env(game)
    returns = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


class EvaluateAt(BaseCallback):
    """Evaluates greedily when training passes each budget, and stops after the last."""

    def __init__(self, budgets: list[int], game: str, episodes: int, seed: int) -> None:
        super().__init__()
        self.budgets, self.game, self.episodes, self.seed = sorted(budgets), game, episodes, seed
        self.records: list[dict] = []
        self.started = time.perf_counter()
        self.evaluating = 0.0  # seconds spent evaluating, which are not training time

    def _on_step(self) -> bool:
        while self.budgets and self.num_timesteps >= self.budgets[0]:
            budget = self.budgets.pop(0)
            begun = time.perf_counter()
            trained = begun - self.started - self.evaluating
            mean, std = evaluate(self.model, self.game, self.episodes, 1_000_000 + self.seed * 10_000)
            self.evaluating += time.perf_counter() - begun
            self.records.append(
                {"env_steps": budget, "mean": mean, "std": std, "episodes": self.episodes, "seconds": round(trained, 1)}
            )
            print(json.dumps(self.records[-1]), file=sys.stderr, flush=True)
        return bool(self.budgets)


def build(algo: str, game: str, seed: int, total: int):
    policy_kwargs = {"features_extractor_class": MinAtarNetwork, "net_arch": []}
    if algo == "dqn":
        policy_kwargs |= {
            "optimizer_class": torch.optim.RMSprop,
            "optimizer_kwargs": {"alpha": 0.95, "eps": 0.01, "centered": True},
        }
        return DQN(
            "MlpPolicy",
            make_env(game),
            learning_rate=2.5e-4,
            buffer_size=100_000,
            learning_starts=5_000,
            batch_size=32,
            gamma=0.99,
            train_freq=1,
            gradient_steps=1,
            target_update_interval=1_000,
            exploration_initial_eps=1.0,
            exploration_final_eps=0.1,
            exploration_fraction=min(1.0, 100_000 / total),  # 100,000 steps of annealing
            policy_kwargs=policy_kwargs,
            seed=seed,
            verbose=0,
        )
    envs = make_vec_env(lambda: make_env(game), n_envs=8, seed=seed)
    return PPO(
        "MlpPolicy",
        envs,
        learning_rate=2.5e-4,
        n_steps=128,
        batch_size=256,
        n_epochs=4,
        clip_range=0.1,
        ent_coef=0.01,
        vf_coef=0.5,
        policy_kwargs=policy_kwargs,
        seed=seed,
        verbose=0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", required=True, help="Breakout, Freeway, Asterix, SpaceInvaders or Seaquest")
    parser.add_argument("--algo", choices=("dqn", "ppo"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--at", type=int, nargs="+", default=[100_000, 1_000_000], help="budgets to evaluate at")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    total = max(args.at)
    model = build(args.algo, args.game, args.seed, total)
    callback = EvaluateAt(list(args.at), args.game, args.episodes, args.seed)
    model.learn(total_timesteps=total, callback=callback)
    print(
        json.dumps(
            {
                "game": args.game,
                "env_id": f"MinAtar/{args.game}-v1",
                "algo": args.algo,
                "seed": args.seed,
                "evaluations": callback.records,
                "versions": {
                    "stable_baselines3": stable_baselines3.__version__,
                    "torch": torch.__version__,
                    "python": platform.python_version(),
                },
                "threads": args.threads,
                "command": "python benchmarks/minatar_baselines.py " + " ".join(sys.argv[1:] if argv is None else argv),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
