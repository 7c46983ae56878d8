"""Plot the learning curves of ``solve_games.py``'s JSON: score against the evaluation opponent by environment steps.

python benchmarks/solve_games.py --game tictactoe_v3 --seeds 3 > ttt.json
python benchmarks/plot_games.py ttt.json --out docs/tictactoe_curve.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="JSON files written by solve_games.py")
    parser.add_argument("--out", type=Path, required=True, help="output PNG")
    args = parser.parse_args()
    games = {}
    for path in args.results:
        games.update(json.loads(path.read_text()))
    figure = Figure(figsize=(5.2 * len(games), 3.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(games), squeeze=False)[0]
    for ax, (game, result) in zip(axes, games.items(), strict=True):
        for run in result["runs"]:
            curve = run["curve"]
            label = f"seed {run['seed']}" + (f", solved at {run['env_steps_to_solve']:,}" if run["solved"] else "")
            ax.plot([p["env_steps"] for p in curve], [p["score"] for p in curve], "o-", markersize=3, label=label)
        ax.axhline(result["runs"][0]["threshold"], color="grey", linestyle=":", label="threshold")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("environment steps (moves)")
        ax.set_ylabel(f"score against {result['runs'][0]['opponent']} (20 games)")
        ax.set_title(game)
        ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
