"""How fast is the search, and how much of its time is the network's?

For B = 1, 16 and 256 trees of 50 simulations with the CartPole preset's network (or another
preset's, ``--preset connect_four`` for the residual network over the board), prints one record per
configuration:

    {"impl": "batched" | "reference", "batch": B, "simulations": 50,
     "searches_per_s": ..., "expansions_per_s": ..., "seconds_per_search_batch": ...,
     "network_share": ..., "ms_per_network_call": ..., "parameters": ...}

``network_share`` is the time the same network calls take when run alone (one initial and 50
recurrent calls of batch B for "batched"; B x 51 calls of batch 1 for "reference"), divided by
the search's time: 1.0 would mean tree bookkeeping costs nothing; ``ms_per_network_call`` is one
of those calls (batch B for "batched", batch 1 for "reference") and ``parameters`` the network's size.

The untrained network's value and reward heads start at zero, which makes every tree nearly
flat; they are re-initialised randomly here so trees grow as deep as a trained agent's
(or pass --checkpoint to use trained weights).

    python benchmarks/search_speed.py --json
    python benchmarks/search_speed.py --json --algorithm gumbel   # Gumbel MuZero's search
    python benchmarks/search_speed.py --json --preset connect_four --no-reference   # the residual network
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np
import torch

from muzero.model.bridge import NetworkModel
from muzero.model.networks import MuZeroNetwork
from muzero.presets import cartpole, get_preset
from muzero.search.mcts import run_mcts
from muzero.search.reference import run_gumbel_reference, run_mcts_reference


def build_model(checkpoint: str | None, preset: str = "cartpole") -> tuple[NetworkModel, object]:
    if preset != "cartpole":
        return build_preset_model(checkpoint, preset)
    config = cartpole()
    torch.manual_seed(0)  # the trees' shape (and so the timings) depends on the weights
    network = MuZeroNetwork(4, 2, config.network)
    if checkpoint:
        from muzero.app.checkpoint import load_checkpoint

        network.load_state_dict(load_checkpoint(checkpoint)["network"])
    else:
        with torch.no_grad():
            torch.nn.init.normal_(network.prediction_net.output.weight, std=0.5)
            torch.nn.init.normal_(network.dynamics_net.output.weight, std=0.5)
    return NetworkModel(network, config.discount), config.search


def build_preset_model(checkpoint: str | None, preset: str) -> tuple[NetworkModel, object]:
    """A preset's model as a run builds it (its environment's space picks the network), heads randomised."""
    from muzero.envs.make import EnvSource
    from muzero.training.planning import build_model as build_run_model

    config = get_preset(preset)
    spec = EnvSource.from_config(config.env).spec()
    torch.manual_seed(0)
    model = build_run_model(config, spec.observation_space, spec.num_actions, spec.two_player, torch.device("cpu"))
    if checkpoint:
        from muzero.app.checkpoint import load_checkpoint

        model.network.load_state_dict(load_checkpoint(checkpoint)["network"])
    else:
        with torch.no_grad():
            for name, weight in model.network.named_parameters():
                if name.endswith("output.weight"):  # the zero-initialised output layers of every head
                    torch.nn.init.normal_(weight, std=0.5)
    return model, config.search


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the search benchmarks (this one and tree_kernels.py)."""
    parser.add_argument("--batches", default="1,16,256", help="comma-separated batch sizes (default 1,16,256)")
    parser.add_argument("--simulations", type=int, default=50)
    parser.add_argument(
        "--threads", type=int, default=cartpole().run.threads, help="torch threads (default: run.threads)"
    )
    parser.add_argument("--min-seconds", type=float, default=2.0, help="time each measurement at least this long")
    parser.add_argument("--checkpoint", default=None, help="use trained weights from a checkpoint or run dir")
    parser.add_argument("--preset", default="cartpole", help="whose network and observations (default cartpole)")


def setup(args: argparse.Namespace) -> tuple[NetworkModel, object]:
    """Set the thread count and build the model the options ask for."""
    torch.set_num_threads(args.threads)
    global OBSERVATIONS
    OBSERVATIONS = args.preset
    return build_model(args.checkpoint, args.preset)


OBSERVATIONS = "cartpole"  # whose observations ``observations`` makes (set by ``setup``)


def observations(batch: int) -> np.ndarray:
    """(batch, D) observations, the same for every benchmark and run: CartPole-like vectors, or positions
    of the preset's environment reached by a few random moves."""
    rng = np.random.default_rng(batch)
    if OBSERVATIONS == "cartpole":
        return rng.normal(scale=0.5, size=(batch, 4)).astype(np.float32)
    from muzero.envs.make import EnvSource

    env = EnvSource.from_config(get_preset(OBSERVATIONS).env).make()
    rows = []
    for i in range(batch):
        obs, info = env.reset(seed=i)
        for _ in range(int(rng.integers(0, 8))):
            legal = np.flatnonzero(info.get("action_mask", np.ones(env.action_space.n, bool)))
            obs, _, terminated, truncated, info = env.step(int(rng.choice(legal)))
            if terminated or truncated:
                obs, info = env.reset(seed=i)
        rows.append(obs)
    env.close()
    return np.asarray(rows, np.float32)


def timed(fn, min_seconds: float) -> float:
    """Seconds per call, repeating until at least ``min_seconds`` have passed."""
    fn()  # warm up (compiles the kernels on first use)
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls


def network_alone(model: NetworkModel, observation: np.ndarray, simulations: int, batch: int) -> float:
    """One initial and ``simulations`` recurrent calls at batch ``batch``, on realistic inputs."""
    root = model.initial_inference(observation[:batch])
    embedding = root.embedding
    actions = np.zeros(batch, np.int32)
    for sim in range(simulations):
        actions[:] = sim % 2
        model.recurrent_inference(embedding, actions)
    return 0.0


def measure(model: NetworkModel, search, batch: int, simulations: int, impl: str, min_seconds: float) -> dict:
    observation = observations(batch)
    if impl == "batched":
        search_time = timed(
            lambda: run_mcts(model, observation, search, None, num_simulations=simulations), min_seconds
        )
        network_time = timed(lambda: network_alone(model, observation, simulations, batch), min_seconds)
    else:

        def reference() -> None:
            for row in observation:
                if search.algorithm == "gumbel":
                    run_gumbel_reference(model, row, search, simulations, np.zeros(2))
                else:
                    run_mcts_reference(model, row, search, simulations)

        def reference_network() -> None:
            for i in range(batch):
                network_alone(model, observation[i : i + 1], simulations, 1)

        search_time = timed(reference, min_seconds)
        network_time = timed(reference_network, min_seconds)
    return {
        "impl": impl,
        "algorithm": search.algorithm,
        "batch": batch,
        "simulations": simulations,
        "searches_per_s": round(batch / search_time, 1),
        "expansions_per_s": round(batch * simulations / search_time, 1),
        "seconds_per_search_batch": round(search_time, 6),
        "network_share": round(network_time / search_time, 3),
        "ms_per_network_call": round(
            1000 * network_time / (simulations + 1) / (batch if impl == "reference" else 1), 4
        ),
        "parameters": sum(p.numel() for p in model.network.parameters()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON list")
    add_search_arguments(parser)
    parser.add_argument("--no-reference", action="store_true", help="skip the slow reference search")
    parser.add_argument("--algorithm", choices=("muzero", "gumbel"), default="muzero", help="search.algorithm")
    args = parser.parse_args(argv)
    model, search = setup(args)
    search = dataclasses.replace(search, algorithm=args.algorithm)
    records = []
    for batch in (int(b) for b in args.batches.split(",")):
        for impl in ("batched",) if args.no_reference else ("batched", "reference"):
            records.append(measure(model, search, batch, args.simulations, impl, args.min_seconds))
            if not args.json:
                print(json.dumps(records[-1]), file=sys.stderr)
    print(json.dumps(records, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
