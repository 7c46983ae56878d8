"""Train two-player games by self-play and report them against opponents of known strength, as JSON.

Per game and seed: whether the preset's threshold was confirmed (tic-tac-toe: a mean score of 0.5
against the perfect player, i.e. no loss; Connect Four: 0.9 against depth-2 alpha-beta), the
environment steps and seconds until then, the learning curve (every periodic evaluation: steps,
seconds, score, wins/draws/losses, distinct games), and the final evaluation against every opponent of
the game (``opponents_for``: tic-tac-toe perfect, winblock, random; Connect Four alphabeta2, winblock,
alphabeta4, random), ``--final-games`` games each (default 200), half as the first player, every game
opened by ``eval.opening_plies`` random plies (Connect Four 2), with wins, draws and losses per colour and
the number of distinct games played.

    python benchmarks/solve_games.py --game tictactoe_v3 --seeds 3
    python benchmarks/solve_games.py --game connect_four_v3 --seeds 1 --max-minutes 60 --runs-dir runs/games

``--max-minutes`` caps each seed's training time (``run.max_minutes``: wall clock, evaluations included).
With ``--runs-dir``, ``--resume`` continues each seed's run from its checkpoint (the learning curve kept in
the run directory's curve.json): ``--max-minutes 180 --resume`` trains a 90-minute run to 180 minutes.
Every periodic evaluation also plays ``--curve-games`` games (default 20) against winblock and alphabeta2
where the game has them, for learning curves against each.
Timings are only comparable with --jobs 1 (the default): parallel seeds share the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GAMES = ("tictactoe_v3", "connect_four_v3")
CURVE_OPPONENTS = ("winblock", "alphabeta2")  # played at every periodic evaluation too (--curve-games each)


def score_row(result) -> dict[str, Any]:
    s = result.summary()
    keys = ("wins", "draws", "losses", "distinct_games")
    return {"score": round(s["mean"], 3), **{k: s[k] for k in keys}}


class Curve:
    """Observer: the periodic evaluations as rows, each also played against ``more`` opponents (``games`` each)."""

    def __init__(self, more: tuple[str, ...] = (), games: int = 20, path: Path | None = None) -> None:
        self.more = more
        self.games = games
        self.path = path  # where the rows are kept (a run directory's curve.json), so a resumed run extends them
        self.rows: list[dict[str, Any]] = json.loads(path.read_text()) if path is not None and path.exists() else []

    def on_episodes(self, trainer, returns, lengths) -> None:
        pass

    def on_train_step(self, trainer, losses) -> None:
        pass

    def on_eval(self, trainer, result, kind: str) -> None:
        if kind != "periodic":
            return
        from muzero.training.evaluation import play_games

        row = {"env_steps": trainer.counters.env_steps, "seconds": round(trainer.elapsed(), 1), **score_row(result)}
        row["opponent"] = next(iter(result.games), None)
        config = trainer.config
        for name in self.more:  # the same network, seeded apart from the periodic games
            games = play_games(
                trainer.model,
                trainer.source,
                name,
                self.games,
                50_000 + trainer.counters.env_steps,
                config.search,
                opening_plies=config.eval.opening_plies,
            )
            row[name] = score_row(games)
        self.rows.append(row)
        if self.path is not None:
            self.path.write_text(json.dumps(self.rows))
        print(
            json.dumps({"game": trainer.config.env.id, "seed": trainer.config.run.seed, **self.rows[-1]}),
            file=sys.stderr,
            flush=True,
        )

    def on_iteration(self, trainer) -> None:
        pass


def train_one(
    game: str,
    seed: int,
    sets: list[str],
    max_env_steps: int | None,
    max_minutes: float | None,
    runs_dir: str | None = None,
    final_games: int = 200,
    curve_games: int = 20,
    resume: bool = False,
) -> dict:
    from muzero.app.callbacks import CallbackList, default_callbacks
    from muzero.app.runner import make_trainer
    from muzero.envs.games.opponents import opening_plies_for, opponents_for
    from muzero.presets import resolve

    config, preset = resolve(game, None)
    config = config.with_sets([*sets, f"run.seed={seed}", f"eval.final_episodes={final_games}"])
    if max_env_steps is not None:
        config = config.with_sets([f"run.max_env_steps={max_env_steps}"])
    if max_minutes is not None:
        config = config.with_sets([f"run.max_minutes={max_minutes}"])
    periodic = config.eval.opponent or opponents_for(game)[0]
    more = tuple(o for o in opponents_for(game) if o in CURVE_OPPONENTS and o != periodic)
    run_dir = None if runs_dir is None else Path(runs_dir) / game / f"seed{seed}"
    curve = Curve(more if curve_games else (), curve_games, None if run_dir is None else run_dir / "curve.json")
    if runs_dir is None:
        trainer = make_trainer(config)  # in-process, or Ray with --set distributed.backend=ray
        trainer.observers = [curve, *default_callbacks(config)]
        counters = trainer.run()
    else:  # a run directory: metrics (for muzero plot) and a checkpoint (for muzero play / render / eval)
        from muzero.app.runner import resume_run, start_run, train

        if resume and (run_dir / "checkpoint.pt").exists():  # continue where the last session stopped
            extra = [f"run.max_minutes={max_minutes}"] if max_minutes is not None else []
            trainer = resume_run(run_dir, [*sets, *extra], max_env_steps)
        else:
            trainer = start_run(config, run_dir, preset)
        trainer.observers.append(curve)
        callback = CallbackList(default_callbacks(config))
        train(trainer, run_dir, progress=False, artifacts=False, callback=callback, final_evaluation=False)
        counters = trainer.counters
    started = time.perf_counter()
    final = trainer.final_evaluation()
    return {
        "game": game,
        "preset": preset,
        "seed": seed,
        "solved": final is not None and trainer.is_solved(final),  # confirmed, and held by the final games
        "confirmed": counters.solved,
        "threshold": trainer.solve_threshold,
        "opening_plies": opening_plies_for(game) if config.eval.opening_plies is None else config.eval.opening_plies,
        "opponent": next(iter(final.games)) if final is not None else None,
        "env_steps_to_solve": counters.env_steps_to_solve,
        "seconds_to_solve": None if counters.seconds_to_solve is None else round(counters.seconds_to_solve, 1),
        "total_env_steps": counters.env_steps,
        "train_steps": counters.train_steps,
        "training_seconds": round(counters.wall_seconds, 1),
        "final_eval_seconds": round(time.perf_counter() - started, 1),
        "time_split": {k: round(v, 1) for k, v in counters.timers.items()},
        "final": None if final is None else final.games,
        "curve": curve.rows,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per opponent: the worst seed's losses, score, win rate and distinct games; and the seeds' training times."""
    opponents = list(runs[0]["final"] or {})
    worst = {}
    for name in opponents:
        records = [r["final"][name] for r in runs]
        worst[name] = {
            "most_losses": max(rec["first"]["losses"] + rec["second"]["losses"] for rec in records),
            "lowest_score": min(rec["score"] for rec in records),
            "lowest_win_rate": min(
                (rec["first"]["wins"] + rec["second"]["wins"]) / sum(rec["first"].values()) / 2 for rec in records
            ),
            "fewest_distinct_games": min(rec["distinct_games"] for rec in records),
        }
    seconds = [r["seconds_to_solve"] if r["solved"] else r["training_seconds"] for r in runs]
    return {
        "solved": sum(r["solved"] for r in runs),
        "seeds": len(runs),
        "median_seconds_to_solve": statistics.median(seconds),
        "worst_seconds_to_solve": max(seconds),
        "worst_seed_against": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", action="append", choices=GAMES, help="game to train (repeatable; default both)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per game (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--max-env-steps", type=int, default=None, help="step budget per seed")
    parser.add_argument("--max-minutes", type=float, default=None, help="training time budget per seed")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (timings contend if > 1)")
    parser.add_argument("--runs-dir", metavar="DIR", help="write a run directory per seed under DIR/GAME/seedS")
    parser.add_argument("--final-games", type=int, default=200, help="final games against each opponent (default 200)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue each seed's run in --runs-dir from its checkpoint (raise --max-minutes to train longer)",
    )
    parser.add_argument(
        "--curve-games",
        type=int,
        default=20,
        help="games against winblock (and alphabeta2) at each periodic evaluation",
    )
    args = parser.parse_args()
    results = {}
    for game in args.game or GAMES:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        jobs = [
            (
                game,
                s,
                args.sets,
                args.max_env_steps,
                args.max_minutes,
                args.runs_dir,
                args.final_games,
                args.curve_games,
                args.resume,
            )
            for s in seeds
        ]
        if args.jobs > 1:
            one_thread = [(g, s, ["run.threads=1", *sets], *rest) for g, s, sets, *rest in jobs]
            with ProcessPoolExecutor(args.jobs) as pool:
                runs = list(pool.map(train_one, *zip(*one_thread, strict=True)))
        else:
            runs = []
            for job in jobs:
                runs.append(train_one(*job))
                print(json.dumps({k: v for k, v in runs[-1].items() if k != "curve"}), file=sys.stderr, flush=True)
        results[game] = {"runs": runs, "summary": summarise(runs)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
