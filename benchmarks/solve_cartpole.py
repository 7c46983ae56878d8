"""Train the CartPole-v1 preset for several seeds and report how fast each solves it.

The CartPole case of ``solve_suite.py`` (same options, same JSON): per seed, whether it solved
(final 100-episode greedy evaluation >= the threshold), the environment steps and wall-clock
seconds until a periodic evaluation first reached the threshold (confirmed on 100 fresh
episodes), the final evaluation's mean; then the medians and the worst seed over seeds.

    python benchmarks/solve_cartpole.py --seeds 5
    python benchmarks/solve_cartpole.py --seeds 5 --set learner.batch_size=256 --jobs 2
    python benchmarks/solve_cartpole.py --seeds 10 --compare "" "search.algorithm=gumbel search.num_simulations=4"

``--compare`` trains each configuration on the same seeds, interleaved seed by seed (drift hits all
alike), and prints per configuration the medians, the worst seed and the ratios to the first.

Timings are only comparable with --jobs 1 (the default): parallel seeds share the CPU.
"""

from __future__ import annotations

import json
import sys

from solve_suite import build_parser, run_compare, run_seeds, with_provenance


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(__doc__)
    parser.set_defaults(env="CartPole-v1", seeds=5)
    args = parser.parse_args(argv)
    run = run_compare if args.compare else run_seeds
    print(json.dumps(with_provenance(run(args, args.env, args.env_kwargs), args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
