"""The ``muzero`` command: train, eval, render, play and plot.

Bad input (unknown preset or key, out-of-range value, unsupported environment, missing or
corrupt run) prints one line and exits with status 2; it never shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from muzero.app.formatting import describe_returns, format_games
from muzero.config import field_docs
from muzero.errors import CheckpointWriteError, UserError

if TYPE_CHECKING:
    from muzero.app.agent import MuZero
    from muzero.training.evaluation import EvalResult

DESCRIPTION = "MuZero for Gymnasium environments with discrete actions (any observation space, images included)."


def config_reference() -> str:
    lines = ["configuration keys (use --set KEY=VALUE; lists are comma-separated):"]
    for key, type_name, default, text in field_docs():
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        lines.append(f"  {key} ({type_name}, default {shown})\n      {text}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(prog="muzero", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train an agent (default: CartPole-v1 until solved)",
        description="Train until the environment's reward threshold is confirmed over 100 evaluation episodes "
        "or the step budget runs out. Writes a run directory with config.json, metrics.csv, "
        "TensorBoard events, checkpoint.pt, summary.json, learning_curve.png and agent.gif.",
        epilog=config_reference(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_arguments(train)
    train.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write the run (default runs/<env>__<preset>__<seed>__<time>)",
    )
    train.add_argument(
        "--resume", type=Path, default=None, metavar="DIR", help="continue the run in DIR from its last checkpoint"
    )
    train.add_argument("--quiet", action="store_true", help="no progress output, only the final report")
    train.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="auto (CUDA when available), cpu, cuda or cuda:N (default: the config's run.device, auto)",
    )
    train.add_argument(
        "--track", action="store_true", help='also log to Weights & Biases (pip install "muzero[wandb]")'
    )
    train.add_argument(
        "--backend",
        choices=("inprocess", "ray"),
        default=None,
        help='where self-play runs: in this process (default) or in Ray actors (pip install "muzero[ray]"); '
        "distributed.backend",
    )
    train.add_argument(
        "--actors", type=int, default=None, metavar="N", help="Ray self-play actors (distributed.actors, default 2)"
    )
    train.add_argument(
        "--address",
        default=None,
        metavar="auto|HOST:PORT",
        help="join this Ray cluster (started with `ray start --head`) instead of starting one (distributed.address)",
    )
    train.add_argument("--wandb-project", default=None, metavar="NAME", help="W&B project (default muzero)")
    train.add_argument("--wandb-entity", default=None, metavar="NAME", help="W&B entity (team or user)")

    config = commands.add_parser(
        "config",
        help="print a resolved configuration as TOML",
        description="muzero config show prints the configuration that muzero train would run with the same "
        "--env/--preset/--config/--set, as TOML that --config reads back unchanged.",
    )
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_commands.add_parser("show", help="print the resolved configuration as TOML")
    _add_config_arguments(show)

    evaluate = commands.add_parser(
        "eval", help="evaluate a saved agent", description="Greedy evaluation (no root noise, most-visited action)."
    )
    evaluate.add_argument("path", type=Path, metavar="DIR", help="run directory or checkpoint file")
    evaluate.add_argument("--episodes", type=int, default=100, metavar="N", help="episodes (default 100)")
    evaluate.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first episode (default 0)")
    evaluate.add_argument("--json", action="store_true", help="print {episodes, mean, std, min, max, returns} as JSON")
    evaluate.add_argument(
        "--opponent",
        default=None,
        metavar="NAME[,NAME...]",
        help="two-player games: the opponents, comma-separated (random, winblock, perfect, alphabetaN; all: "
        "every one of the game's; default eval.opponent, else the game's first); N games against each",
    )
    evaluate.add_argument(
        "--opening-plies",
        type=int,
        default=None,
        metavar="N",
        help="two-player games: random plies opening each game (default eval.opening_plies, else the game's: "
        "2 for Connect Four, 0 for tic-tac-toe)",
    )

    render = commands.add_parser("render", help="render evaluation episodes to a GIF or MP4")
    render.add_argument("path", type=Path, metavar="DIR", help="run directory or checkpoint file")
    render.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="output .gif or .mp4 (default DIR/agent.gif; MP4 needs imageio[ffmpeg])",
    )
    render.add_argument("--episodes", type=int, default=1, metavar="N", help="episodes, back to back (default 1)")
    render.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first episode (default 0)")
    render.add_argument(
        "--opponent",
        default=None,
        metavar="NAME",
        help="two-player games: play this opponent (random, winblock, perfect, alphabetaN) instead of itself",
    )
    render.add_argument("--second", action="store_true", help="with --opponent: the agent moves second")

    tree = commands.add_parser(
        "tree",
        help="draw one search from a real state as a tree (SVG)",
        description="Search once from a real state (after --steps greedy moves of the episode seeded --seed) and "
        "draw the tree: visits, Q, prior and reward on each edge, the chosen action in red.",
    )
    tree.add_argument("path", type=Path, metavar="DIR", help="run directory or checkpoint file")
    tree.add_argument("--seed", type=int, default=0, metavar="S", help="episode seed (default 0)")
    tree.add_argument("--steps", type=int, default=0, metavar="N", help="greedy steps before the search (default 0)")
    tree.add_argument("--simulations", type=int, default=None, metavar="N", help="simulations (default: the run's)")
    tree.add_argument("--out", type=Path, default=None, metavar="FILE", help="output SVG (default DIR/tree.svg)")

    diagnose = commands.add_parser(
        "diagnose",
        help="what the learned model knows: reward and value errors after k dynamics steps, probes (JSON, PNG)",
        description="Unroll the learned model along real episodes of the trained agent and measure reward and value "
        "predictions after k = 0..2K steps; for CartPole also linear probes of the hidden state against the true "
        "state and foresight of the pole falling. Writes diagnose.json and diagnose.png.",
    )
    diagnose.add_argument("path", type=Path, metavar="DIR", help="run directory or checkpoint file")
    diagnose.add_argument("--episodes", type=int, default=20, metavar="N", help="episodes recorded (default 20)")
    diagnose.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first episode (default 0)")
    diagnose.add_argument("--out", type=Path, default=None, metavar="DIR", help="output folder (default: the run's)")

    play = commands.add_parser(
        "play",
        help="play a two-player game against a trained agent in the terminal",
        description="Play a trained two-player agent (tic-tac-toe, Connect Four): type the number of a move.",
    )
    play.add_argument("path", type=Path, metavar="DIR", help="run directory or checkpoint file")
    play.add_argument("--first", action="store_true", help="you move first (default: the agent does)")
    play.add_argument("--seed", type=int, default=0, metavar="S", help="game seed (default 0)")

    plot = commands.add_parser(
        "plot",
        help="plot learning curves of one or several runs",
        description="One run: its evaluation and training returns. Several runs (e.g. seeds): their mean and spread.",
    )
    plot.add_argument("paths", type=Path, nargs="+", metavar="DIR", help="run directories")
    plot.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="output PNG (default DIR/learning_curve.png for one run, learning_curves.png for several)",
    )
    return parser


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a configuration (shared by train and config show)."""
    from muzero.presets import preset_names

    parser.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help=f"named configuration: {', '.join(preset_names())} (default: the preset tuned for --env if there "
        "is one, else generic; cartpole without --env)",
    )
    parser.add_argument(
        "--env",
        default=None,
        metavar="ID",
        help="Gymnasium environment id (discrete actions; any observations, images included)",
    )
    parser.add_argument(
        "--env-kwargs",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="keyword arguments for gymnasium.make, e.g. --env-kwargs is_slippery=False map_name=8x8",
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default 0)")
    parser.add_argument("--max-env-steps", type=int, default=None, metavar="N", help="environment step budget")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable); the keys are listed below",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a TOML configuration (the format of muzero config show and of the presets); --env and --set "
        "apply on top of it",
    )


def _version() -> str:
    from muzero._version import __version__

    return __version__


def resolve_config(args: argparse.Namespace):
    """(config, preset name) from --config or --env/--preset, then --env-kwargs, --set and the shortcuts."""
    from muzero.config import Config
    from muzero.presets import resolve

    if args.config is not None:
        if args.preset:
            raise UserError("--config and --preset both name a whole configuration; give one of them")
        try:
            text = args.config.read_text()
        except OSError as error:
            raise UserError(f"cannot read --config {args.config}: {error.strerror}") from None
        config, preset = Config.from_toml(text), args.config.stem
        if args.env:
            config = config.replace({"env.id": args.env})
    else:
        config, preset = resolve(args.env, args.preset)
    sets = list(args.sets)
    if args.seed is not None:
        sets.append(f"run.seed={args.seed}")
    if args.max_env_steps is not None:
        sets.append(f"run.max_env_steps={args.max_env_steps}")
    for option, key in (
        ("device", "run.device"),
        ("wandb_project", "run.wandb_project"),
        ("wandb_entity", "run.wandb_entity"),
        ("backend", "distributed.backend"),
        ("actors", "distributed.actors"),
        ("address", "distributed.address"),
    ):
        if getattr(args, option, None) is not None:
            sets.append(f"{key}={getattr(args, option)}")
    if getattr(args, "track", False):
        sets.append("run.track=true")
    config = config.with_sets(sets)
    if args.env_kwargs:
        config = config.replace({"env.kwargs": tuple(args.env_kwargs)})
    return config, preset


def command_train(args: argparse.Namespace) -> int:
    from muzero.app.callbacks import CallbackList, default_callbacks
    from muzero.app.runner import default_run_dir, resume_run, start_run, train
    from muzero.envs.make import EnvSource

    if args.resume is not None:
        chosen = (args.preset, args.env, args.env_kwargs, args.seed is not None, args.run_dir, args.config)
        chosen += (args.backend, args.actors)
        if any(chosen):
            raise UserError(
                "--resume continues a run as it was configured; it takes only --max-env-steps, --set, --device, "
                "--address and --track"
            )
        sets = list(args.sets)
        for option, key in (
            ("device", "run.device"),
            ("wandb_project", "run.wandb_project"),
            ("address", "distributed.address"),
        ):
            if getattr(args, option) is not None:
                sets.append(f"{key}={getattr(args, option)}")
        if args.track:
            sets.append("run.track=true")
        trainer = resume_run(args.resume, sets, args.max_env_steps)
        run_dir = args.resume
    else:
        config, preset = resolve_config(args)
        EnvSource.from_config(config.env).spec()  # fail fast on a bad environment
        run_dir = args.run_dir or default_run_dir(config, preset)
        trainer = start_run(config, run_dir, preset)
    if not args.quiet:
        print(
            f"training {trainer.config.env.id} (seed {trainer.config.run.seed}, {trainer.device}) in {run_dir}",
            file=sys.stderr,
        )
    callback = CallbackList(default_callbacks(trainer.config))
    outcome = train(trainer, run_dir, progress=not args.quiet, callback=callback)
    print(report(outcome.summary, run_dir))
    return outcome.exit_code


def command_config(args: argparse.Namespace) -> int:
    config, preset = resolve_config(args)
    header = f"muzero configuration (preset {preset}); run it with: muzero train --config FILE.toml"
    sys.stdout.write(config.to_toml(header))
    return 0


def report(summary: dict, run_dir: Path) -> str:
    lines = [f"run: {run_dir}", f"status: {summary['status']}"]
    if summary.get("confirmed"):
        confirmed = (
            f"a confirmed mean >= {summary['solve_threshold']:g} after {summary['env_steps_to_solve']:,} "
            f"environment steps and {summary['seconds_to_solve']:.1f} s"
        )
        held = ", held by the final evaluation" if summary["final_eval"] else " (no final evaluation ran)"
        lines.append(
            f"solved: {confirmed}{held}"
            if summary["solved"]
            else f"solved: no: {confirmed}, but the final evaluation fell below it"
        )
    else:
        lines.append(f"solved: no (threshold {summary['solve_threshold']})")
    final = summary.get("final_eval")
    if final and final.get("games"):
        lines.append(f"final evaluation ({final['episodes']} games each): {format_games(final['games'])}")
    elif final:
        lines.append(f"final evaluation: {describe_returns(final)}")
    lines.append(
        f"environment steps: {summary['total_env_steps']:,}, training steps: "
        f"{summary['total_train_steps']:,}, wall-clock: {summary['wall_seconds']:.1f} s"
    )
    return "\n".join(lines)


def command_eval(args: argparse.Namespace) -> int:
    from muzero.app.agent import MuZero

    if args.episodes < 1:
        raise UserError("--episodes must be at least 1")
    if args.opening_plies is not None and args.opening_plies < 0:
        raise UserError("--opening-plies must be at least 0")
    agent = MuZero.load(args.path)
    result = evaluate_opponents(agent, args.episodes, args.seed, args.opponent, args.opening_plies)
    if args.json:
        extra = {"games": result.games} if result.games else {}
        print(json.dumps(result.summary() | {"returns": [float(r) for r in result.returns]} | extra))
    elif result.games:
        print(f"{agent.config.env.id}: {format_games(result.games)}")
    else:
        print(f"{agent.config.env.id}: {describe_returns(result.summary())}")
    return 0


def evaluate_opponents(
    agent: MuZero, episodes: int, seed: int, opponents: str | None, opening_plies: int | None
) -> EvalResult:
    """``agent.evaluate`` against each of the comma-separated ``opponents`` (``all``: the game's), their records
    gathered in the first result's ``games``; its returns and summary are the first opponent's."""
    from muzero.envs.games.opponents import make_opponent, opponents_for

    game = agent.source.game
    if game is None or opponents is None:
        return agent.evaluate(episodes, seed, opponent=opponents, opening_plies=opening_plies)
    names = list(opponents_for(game)) if opponents == "all" else opponents.split(",")
    for name in names:
        try:
            make_opponent(name, game)
        except ValueError as error:
            raise UserError(str(error)) from None
    results = [agent.evaluate(episodes, seed, opponent=name, opening_plies=opening_plies) for name in names]
    for other in results[1:]:
        results[0].games.update(other.games)
    return results[0]


def command_render(args: argparse.Namespace) -> int:
    from muzero.app.agent import MuZero
    from muzero.app.render import animation_settings, record_episode, save_animation

    if args.episodes < 1:
        raise UserError("--episodes must be at least 1")
    agent = MuZero.load(args.path)
    out = args.out or (args.path if args.path.is_dir() else args.path.parent) / "agent.gif"
    frame_skip, fps = animation_settings(agent.source)
    frames, returns = [], []
    for episode in range(args.episodes):
        recording = record_episode(
            agent.model,
            agent.source,
            agent.config.search,
            seed=args.seed + episode,
            frame_skip=frame_skip,
            opponent=args.opponent,
            agent_first=not args.second,
        )
        frames += recording.frames
        returns.append(recording.episode_return)
    path = save_animation(frames, out, fps=fps)
    print(f"wrote {path} ({len(frames)} frames; returns {', '.join(f'{r:g}' for r in returns)})")
    return 0


def command_diagnose(args: argparse.Namespace) -> int:
    from muzero.app.agent import MuZero
    from muzero.app.diagnose import diagnose, write_report

    if args.episodes < 2:
        raise UserError("--episodes must be at least 2 (the probes fit on half and score on the other half)")
    agent = MuZero.load(args.path, verbose=0)
    report = diagnose(agent, episodes=args.episodes, seed=args.seed)
    json_path, png_path = write_report(report, args.out or (args.path if args.path.is_dir() else args.path.parent))
    for entry in report["per_k"]:
        if "value_mae" not in entry:  # no episode was long enough
            continue
        reward = f"reward |error| {entry['reward_mae']:.4f}, " if "reward_mae" in entry else ""
        print(
            f"k={entry['k']:>2}: {reward}value |error| {entry['value_mae']:.3f}, corr {entry['value_correlation']:.3f}"
        )
    if "cartpole" in report:
        probe = {p["k"]: p["r2"] for p in report["cartpole"]["probe"] if p["r2"] is not None}
        for k in sorted({0, report["unroll_steps"]} & set(probe)):
            print(f"linear probe R2 at k={k}:", probe[k])
        print("foresight:", report["cartpole"]["foresight"])
    print(f"wrote {json_path} and {png_path}")
    return 0


def command_tree(args: argparse.Namespace) -> int:
    from muzero.app.agent import MuZero
    from muzero.app.tree_view import draw_search, write_svg

    if args.steps < 0 or (args.simulations is not None and args.simulations < 1):
        raise UserError("--steps must be at least 0 and --simulations at least 1")
    agent = MuZero.load(args.path, verbose=0)
    try:
        svg, summary = draw_search(agent, seed=args.seed, steps=args.steps, simulations=args.simulations)
    except ValueError as error:
        raise UserError(str(error)) from None
    out = args.out or (args.path if args.path.is_dir() else args.path.parent) / "tree.svg"
    path = write_svg(svg, out)
    print(f"wrote {path} ({summary['nodes']} nodes; action {summary['action']}, visits {summary['visits']})")
    return 0


def command_play(args: argparse.Namespace) -> int:
    from muzero.app.agent import MuZero
    from muzero.app.play import play_human

    play_human(MuZero.load(args.path, verbose=0), human_first=args.first, seed=args.seed)
    return 0


def command_plot(args: argparse.Namespace) -> int:
    from muzero.app.plotting import plot_runs

    for path in args.paths:
        if not path.is_dir():
            raise UserError(f"no such run directory: {path}")
    out = args.out or (args.paths[0] / "learning_curve.png" if len(args.paths) == 1 else Path("learning_curves.png"))
    print(f"wrote {plot_runs(args.paths, out)}")
    return 0


COMMANDS = {
    "train": command_train,
    "eval": command_eval,
    "render": command_render,
    "play": command_play,
    "tree": command_tree,
    "diagnose": command_diagnose,
    "plot": command_plot,
    "config": command_config,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as error:
        print(f"muzero {args.command}: error: {error}", file=sys.stderr)
        return 2
    except CheckpointWriteError as error:
        print(f"muzero {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
