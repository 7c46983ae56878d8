"""Plot the learning curves of ``solve_games.py``'s JSON: score against each opponent over training time.

One panel per opponent the curves measured (the periodic evaluation's, and winblock or alphabeta2 where
``--curve-games`` played them), one line per run; several files (for example a learned-model run and a
true-rules run, ``--label`` naming each) share the panels.

    python benchmarks/solve_games.py --game tictactoe_v3 --seeds 3 > ttt.json
    python benchmarks/plot_games.py ttt.json --out docs/tictactoe_curve.png
    python benchmarks/plot_games.py learned.json true.json --label learned --label "true rules" --out c4.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def opponent_scores(curve: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """Per opponent, (minutes, score) of every periodic evaluation."""
    series: dict[str, list[tuple[float, float]]] = {}
    for row in curve:
        minutes = row["seconds"] / 60
        series.setdefault(row.get("opponent") or "periodic", []).append((minutes, row["score"]))
        for name, value in row.items():
            if isinstance(value, dict) and "score" in value:
                series.setdefault(name, []).append((minutes, value["score"]))
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="JSON files written by solve_games.py")
    parser.add_argument("--label", action="append", default=[], help="a name per file (default: the file's stem)")
    parser.add_argument("--out", type=Path, required=True, help="output PNG")
    args = parser.parse_args()
    lines: dict[str, list[tuple[str, list[tuple[float, float]]]]] = {}  # opponent -> [(label, points)]
    for i, path in enumerate(args.results):
        name = args.label[i] if i < len(args.label) else path.stem
        for game, result in json.loads(path.read_text()).items():
            for run in result["runs"]:
                label = f"{name}, {game} seed {run['seed']}"
                for opponent, points in opponent_scores(run["curve"]).items():
                    lines.setdefault(opponent, []).append((label, points))
    figure = Figure(figsize=(5.2 * len(lines), 3.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(lines), squeeze=False)[0]
    for ax, (opponent, runs) in zip(axes, lines.items(), strict=True):
        for label, points in runs:
            ax.plot([m for m, _ in points], [s for _, s in points], "o-", markersize=3, label=label)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("minutes of training (evaluations included)")
        ax.set_ylabel("score (win 1, draw 0.5)")
        ax.set_title(f"against {opponent}")
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
