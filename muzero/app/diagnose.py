"""``muzero diagnose``: what the learned model knows, measured on real trajectories of the trained agent.

From every position t of the recorded episodes the model is unrolled with the actions actually
taken: s_0 = h(o_t), (s_k, r̂_k) = g(s_{k-1}, a_{t+k-1}), v̂_k = value of f(s_k). For k = 0 .. 2K
(K = the training unroll, so "beyond K" is measured too) it reports

- reward error: mean |r̂_k - r_{t+k}| (k >= 1; r_{t+k} the reward observed after the k-th action);
- value calibration: v̂_k against the actual discounted return from t+k, G = sum_i gamma^i r (bootstrapped
  with the network's value where an episode was cut by its time limit): mean absolute error, bias,
  correlation, and predicted and actual means in ten bins of the prediction;
- CartPole only, the hidden state against the true physical state: a linear probe (least squares,
  fitted on half the episodes, scored on the other half) from s_k to the true state at t+k (cart
  position and velocity, pole angle and angular velocity), as R² per variable;
- CartPole only, whether the model foresees the pole falling: how well v̂_0 ranks positions whose
  episode terminates within the next n steps above those whose does not (ROC AUC, n = 10, 25, 50).
  A greedy trained agent rarely fails, so these episodes take a random action with probability
  ``epsilon`` (0.5) at each step.

With a stochastic model (``network.dynamics = "stochastic"``) each step of the unroll goes through the
afterstate of the action taken and then the chance code that the chance encoder gives the transition
that actually happened, as training unrolls it: the report measures the model given the outcomes
that occurred (the search itself weighs all codes by sigma).

Episodes are played by the agent's own greedy search (no root noise), as evaluation plays them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from muzero.envs.make import legal_mask
from muzero.search.mcts import greedy_actions

CARTPOLE_STATE = ("cart position", "cart velocity", "pole angle", "pole angular velocity")
FORESIGHT_HORIZONS = (10, 25, 50)


def record_trajectories(agent, episodes: int, seed: int, epsilon: float = 0.0) -> list[dict[str, np.ndarray]]:
    """Greedy episodes (a random legal action with probability ``epsilon``): observations (T+1, D), actions (T,),
    rewards (T,), the chance outcome each step named in ``info["chance"]`` (T,) (-1 where none), and whether the
    episode terminated."""
    rng = np.random.default_rng(seed)
    source = agent.source
    trajectories = []
    for episode in range(episodes):
        env = source.make_raw()
        try:
            observation, info = env.reset(seed=seed + episode)
            raw, actions, rewards, chances = [observation], [], [], []
            num_actions = int(env.action_space.n)
            done, terminated = False, False
            while not done:
                legal = legal_mask(info.get("action_mask"), num_actions)
                if epsilon > 0 and rng.random() < epsilon:
                    action = int(rng.choice(np.flatnonzero(legal)))
                else:
                    batch = agent.encoder.encode(observation)[None]
                    action = int(greedy_actions(agent.model, batch, agent.config.search, legal[None])[0])
                observation, reward, terminated, truncated, info = env.step(action)
                raw.append(observation)
                actions.append(action)
                rewards.append(float(reward) * agent.config.env.reward_scale)
                chances.append(int(info.get("chance", -1)))
                done = terminated or truncated
        finally:
            env.close()
        trajectories.append(
            {
                "observations": np.stack([agent.encoder.encode(o) for o in raw]),
                "actions": np.asarray(actions, np.int64),
                "rewards": np.asarray(rewards),
                "chances": np.asarray(chances, np.int64),
                "terminated": bool(terminated),
            }
        )
    return trajectories


def discounted_returns(trajectory: dict[str, np.ndarray], discount: float, final_value: float) -> np.ndarray:
    """(T+1,) the discounted return from every position; the last is 0 if terminated, else ``final_value``."""
    rewards = trajectory["rewards"]
    returns = np.zeros(len(rewards) + 1)
    returns[-1] = 0.0 if trajectory["terminated"] else final_value
    for t in range(len(rewards) - 1, -1, -1):
        returns[t] = rewards[t] + discount * returns[t + 1]
    return returns


def unroll(model, trajectory: dict[str, np.ndarray], max_k: int) -> dict[str, np.ndarray]:
    """Predictions of every start position t after k = 0..max_k real actions (NaN where the episode is over).

    Returns reward (T+1, max_k+1), value (T+1, max_k+1) and latent (T+1, max_k+1, L).
    """
    observations, actions = trajectory["observations"], trajectory["actions"]
    positions = len(observations)
    root = model.initial_inference(observations)
    latent_size = root.embedding.shape[1]
    reward = np.full((positions, max_k + 1), np.nan)
    value = np.full((positions, max_k + 1), np.nan)
    latent = np.full((positions, max_k + 1, latent_size), np.nan)
    value[:, 0], latent[:, 0] = root.value, root.embedding
    embedding = root.embedding
    for k in range(1, max_k + 1):
        alive = np.arange(positions - k)  # start positions with k real actions ahead
        if len(alive) == 0:
            break
        state, action = np.ascontiguousarray(embedding[: len(alive)]), actions[alive + k - 1]
        if hasattr(model, "afterstate_inference"):  # stochastic: the observed outcome's code, as in training
            if model.network.chance_labels:  # the codes the environment named
                codes = np.maximum(trajectory["chances"][alive + k - 1], 0)
            else:
                codes = model.observed_codes(observations[alive + k - 1], observations[alive + k])
            step = model.chance_inference(model.afterstate_inference(state, action).embedding, codes)
        else:
            step = model.recurrent_inference(state, action)
        embedding = step.embedding
        reward[alive, k], value[alive, k], latent[alive, k] = step.reward, step.value, step.embedding
    return {"reward": reward, "value": value, "latent": latent}


def _roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    # Average ranks over ties.
    values = np.concatenate([pos, neg])
    for v in np.unique(values):
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _r2(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    residual = ((actual - predicted) ** 2).sum(axis=0)
    total = ((actual - actual.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - residual / np.maximum(total, 1e-12)


def linear_probe(latents: list[np.ndarray], states: list[np.ndarray]) -> np.ndarray:
    """R² per state variable of a least-squares map latent -> state fitted on the first half of the episodes
    and scored on the second half (each list has one (n_i, ·) array per episode)."""
    half = max(1, len(latents) // 2)
    fit_x, fit_y = np.concatenate(latents[:half]), np.concatenate(states[:half])
    test_x, test_y = np.concatenate(latents[half:] or latents[:half]), np.concatenate(states[half:] or states[:half])
    design = np.hstack([fit_x, np.ones((len(fit_x), 1))])
    weights, *_ = np.linalg.lstsq(design, fit_y, rcond=None)
    return _r2(np.hstack([test_x, np.ones((len(test_x), 1))]) @ weights, test_y)


def record(actor, episodes: int = 20, seed: int = 0, epsilon: float = 0.5) -> dict[str, Any]:
    """The episodes ``diagnose`` reads: greedy ones, and (CartPole) ones with random actions mixed in."""
    recorded: dict[str, Any] = {"greedy": record_trajectories(actor, episodes, seed), "epsilon": epsilon}
    if actor.config.env.id.startswith("CartPole"):
        recorded["perturbed"] = record_trajectories(actor, episodes, seed + 10_000, epsilon=epsilon)
    return recorded


def diagnose(
    agent, episodes: int = 20, seed: int = 0, epsilon: float = 0.5, recorded=None, max_k: int | None = None
) -> dict[str, Any]:
    """The report (see the module's doc) as a JSON-ready dict.

    ``recorded`` (from ``record``; default: the agent's own episodes) lets two models be diagnosed on the
    same episodes, so that what each knows is compared on the same states. ``max_k``: the longest unroll
    measured (default 2K).
    """
    model, config = agent.model, agent.config
    recorded = record(agent, episodes, seed, epsilon) if recorded is None else recorded
    discount = float(model.discount)  # -gamma in a two-player game: returns are the mover's
    max_k = 2 * config.learner.unroll_steps if max_k is None else max_k
    trajectories = recorded["greedy"]
    episodes = len(trajectories)
    per_k: list[dict[str, Any]] = []
    predictions = [unroll(model, tr, max_k) for tr in trajectories]
    returns = [discounted_returns(tr, discount, float(model.value(tr["observations"][-1:])[0])) for tr in trajectories]
    for k in range(max_k + 1):
        value_pred, value_true, reward_pred, reward_true = [], [], [], []
        for tr, pred, ret in zip(trajectories, predictions, returns, strict=True):
            n = len(tr["observations"]) - k  # start positions whose position t+k exists
            if n <= 0:
                continue
            value_pred.append(pred["value"][:n, k])
            value_true.append(ret[k : k + n])
            if k >= 1:
                reward_pred.append(pred["reward"][:n, k])
                reward_true.append(tr["rewards"][k - 1 : k - 1 + n])
        entry: dict[str, Any] = {"k": k, "beyond_unroll": k > config.learner.unroll_steps}
        if value_pred:
            vp, vt = np.concatenate(value_pred), np.concatenate(value_true)
            entry.update(value_calibration(vp, vt))
        if reward_pred:
            rp, rt = np.concatenate(reward_pred), np.concatenate(reward_true)
            entry["reward_mae"] = round(float(np.abs(rp - rt).mean()), 5)
        per_k.append(entry)
    report: dict[str, Any] = {
        "env": agent.config.env.id,
        "episodes": episodes,
        "mean_length": float(np.mean([len(tr["actions"]) for tr in trajectories])),
        "unroll_steps": config.learner.unroll_steps,
        "per_k": per_k,
    }
    if agent.config.env.id.startswith("CartPole"):
        report["cartpole"] = cartpole_diagnostics(agent, recorded, predictions, max_k)
    return report


def value_calibration(predicted: np.ndarray, actual: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Mean absolute error, bias, correlation, and (predicted mean, actual mean, count) in bins of the prediction."""
    edges = np.quantile(predicted, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, bins - 1)
    table = [
        [
            round(float(predicted[which == i].mean()), 4),
            round(float(actual[which == i].mean()), 4),
            int((which == i).sum()),
        ]
        for i in range(bins)
        if (which == i).any()
    ]
    correlation = float(np.corrcoef(predicted, actual)[0, 1]) if predicted.std() > 0 and actual.std() > 0 else 0.0
    return {
        "value_mae": round(float(np.abs(predicted - actual).mean()), 4),
        "value_bias": round(float((predicted - actual).mean()), 4),
        "value_correlation": round(correlation, 4),
        "value_bins": table,
    }


def cartpole_diagnostics(agent, recorded, predictions, max_k) -> dict[str, Any]:
    """Linear probes of the hidden state after k steps, and foresight of the pole falling."""
    trajectories = recorded["greedy"]
    probes = []
    for k in range(max_k + 1):
        latents, states = [], []
        for tr, pred in zip(trajectories, predictions, strict=True):
            n = len(tr["observations"]) - k
            if n > 1:
                latents.append(pred["latent"][:n, k])
                states.append(tr["observations"][k : k + n, :4])  # CartPole's observation is its physical state
        if len(latents) < 2:  # too few episodes this long to fit on some and score on others
            probes.append({"k": k, "r2": None})
            continue
        r2 = linear_probe(latents, states)
        probes.append({"k": k, "r2": {name: round(float(v), 4) for name, v in zip(CARTPOLE_STATE, r2, strict=True)}})
    perturbed = recorded["perturbed"]
    foresight = {}
    values = np.concatenate([agent.model.value(tr["observations"][:-1]) for tr in perturbed])
    for horizon in FORESIGHT_HORIZONS:
        ends = np.concatenate(
            [(len(tr["actions"]) - np.arange(len(tr["actions"])) <= horizon) & tr["terminated"] for tr in perturbed]
        )
        foresight[f"auc_falls_within_{horizon}"] = _roc_auc(-values, ends)
    foresight["terminated_episodes"] = int(sum(tr["terminated"] for tr in perturbed))
    foresight["epsilon"] = recorded["epsilon"]
    return {"probe": probes, "foresight": foresight}


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """A PNG: reward error and value error against k, value calibration at k = 0 and k = K, probe R² against k."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    per_k = report["per_k"]
    cartpole = report.get("cartpole")
    columns = 4 if cartpole else 3
    figure = Figure(figsize=(4.2 * columns, 3.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns)
    ks = [e["k"] for e in per_k]
    K = report["unroll_steps"]
    rewarded = [e for e in per_k if "reward_mae" in e]
    axes[0].plot([e["k"] for e in rewarded], [e["reward_mae"] for e in rewarded], "o-", color="C0")
    axes[0].set_ylabel("reward |error|", color="C0")
    value_axis = axes[0].twinx()  # values are on a much larger scale than one step's reward
    value_axis.plot(ks, [e.get("value_mae", np.nan) for e in per_k], "s-", color="C1")
    value_axis.set_ylabel("value |error|", color="C1")
    axes[0].axvline(K, color="grey", linestyle=":")
    axes[0].set_xlabel(f"dynamics steps k (dotted: K = {K})")
    axes[0].set_title("prediction error")
    ends = []
    for k, style in ((0, "o-"), (K, "s--")):
        bins = next((e["value_bins"] for e in per_k if e["k"] == k and "value_bins" in e), [])
        if bins:
            axes[1].plot([b[0] for b in bins], [b[1] for b in bins], style, label=f"k = {k}")
            ends += [v for b in bins for v in b[:2]]
    if ends:
        axes[1].plot([min(ends), max(ends)], [min(ends), max(ends)], color="grey", linestyle=":", label="perfect")
    axes[1].set_xlabel("predicted value (bins)")
    axes[1].set_ylabel("actual discounted return")
    axes[1].set_title("value calibration")
    axes[1].legend(fontsize=8)
    axes[2].plot(ks, [e.get("value_correlation", np.nan) for e in per_k], "o-")
    axes[2].set_ylim(-0.1, 1.05)
    axes[2].set_xlabel("dynamics steps k")
    axes[2].set_title("value: correlation with the return")
    if cartpole:
        for name in CARTPOLE_STATE:
            axes[3].plot(
                [p["k"] for p in cartpole["probe"] if p["r2"]],
                [p["r2"][name] for p in cartpole["probe"] if p["r2"]],
                "o-",
                label=name,
            )
        axes[3].set_ylim(-0.1, 1.05)
        axes[3].set_xlabel("dynamics steps k")
        axes[3].set_title("linear probe R² (hidden state -> true state)")
        axes[3].legend(fontsize=7)
    figure.suptitle(f"{report['env']}: what the model knows ({report['episodes']} episodes)")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def write_report(report: dict[str, Any], directory: str | Path) -> tuple[Path, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "diagnose.json"
    json_path.write_text(json.dumps(report, indent=2))
    return json_path, plot_report(report, directory / "diagnose.png")
