"""Plot the learning curves in a benchmark's JSON that compares models (``solve_frozenlake.py``, ``solve_2048.py``).

Each run's ``curve`` (its periodic greedy evaluations: environment steps, seconds, mean) becomes one line,
coloured by model, against environment steps or minutes; a dashed line marks ``--hline`` (an optimum or a
target) where given.

    python benchmarks/solve_frozenlake.py --seeds 3 --runs-dir runs/fl > fl.json
    python benchmarks/plot_curves.py fl.json --out docs/frozenlake_curves.png --ylabel "success rate" --hline 0.744
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLOURS = {"stochastic": "#1f77b4", "deterministic": "#d62728", "stochastic-encoder": "#9467bd"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", help="the benchmark's JSON output (or a docs data file holding it as 'result')")
    parser.add_argument("--out", required=True)
    parser.add_argument("--x", choices=("env_steps", "minutes"), default="env_steps")
    parser.add_argument("--ylabel", default="greedy evaluation mean")
    parser.add_argument("--title", default=None)
    parser.add_argument("--hline", type=float, default=None, help="a dashed reference line (optimum, target)")
    args = parser.parse_args()
    data = json.loads(Path(args.result).read_text())
    result = data.get("result", data)
    figure = Figure(figsize=(7, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for model, entry in result["models"].items():
        colour = COLOURS.get(model)
        for i, run in enumerate(entry["runs"]):
            curve = run["curve"]
            xs = [p["env_steps"] if args.x == "env_steps" else p["seconds"] / 60 for p in curve]
            ys = [p["mean"] for p in curve]
            axes.plot(xs, ys, color=colour, alpha=0.8, label=model if i == 0 else None)
    if args.hline is not None:
        axes.axhline(args.hline, color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("environment steps" if args.x == "env_steps" else "minutes of training")
    axes.set_ylabel(args.ylabel)
    axes.set_title(args.title or result.get("env_id", ""))
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.out, dpi=100)
    print(args.out)


if __name__ == "__main__":
    main()
