"""Figures as people read them: every printed return at the scale of the returns it describes.

Light on purpose (no NumPy, no torch): the command line imports it before it knows what it will run.
"""

from __future__ import annotations

import math


def decimals_for(*values: float) -> int:
    """Decimals that show three significant figures of the largest magnitude (at least one, at most six):
    returns of about 500 print as 496.8, returns between 0.86 and 0.92 as 0.891, not as 0.9 and 1."""
    largest = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    if largest == 0.0:
        return 1
    return min(6, max(1, 2 - math.floor(math.log10(largest))))


def describe_returns(summary: dict) -> str:
    """``mean 0.891 +- 0.017 (min 0.860, max 0.920) over 100 episodes``, every figure at one scale."""
    mean, std, low, high = (float(summary[k]) for k in ("mean", "std", "min", "max"))
    d = decimals_for(mean, low, high)
    return f"mean {mean:.{d}f} +- {std:.{d}f} (min {low:.{d}f}, max {high:.{d}f}) over {summary['episodes']} episodes"


def format_return(value: float) -> str:
    """One return or mean, at its own scale (``decimals_for``)."""
    return f"{value:.{decimals_for(value)}f}"


def format_games(games: dict) -> str:
    """``perfect: score 0.500; moving first W/D/L 0/100/0, second 0/100/0, 37 distinct games; random: ...``"""
    parts = []
    for name, record in games.items():
        first, second = record["first"], record["second"]
        parts.append(
            f"{name}: score {record['score']:.3f}; moving first W/D/L {first['wins']}/{first['draws']}/"
            f"{first['losses']}, second {second['wins']}/{second['draws']}/{second['losses']}"
            + (f", {record['distinct_games']} distinct games" if "distinct_games" in record else "")
        )
    return "; ".join(parts)
