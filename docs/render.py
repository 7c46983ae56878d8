"""Renders the generated blocks of the documentation, so that no table of measured figures is typed by hand.

Every results table is data: one JSON file per measurement in ``docs/results/data/`` (its README says how a
benchmark's output becomes one). A page (``README.md`` or any ``docs/**/*.md``) asks for a table with two
marker comments, and this script rewrites what stands between them; the prose around stays hand-written:

    <!-- table:cartpole_seeds_0_9 -->
    (the table and a line naming its data file)
    <!-- /table -->

The block named ``config-reference`` is the configuration table of ``muzero.config.markdown_reference()``.

A figure quoted in prose stands between inline markers, which the script rewrites the same way (they are
invisible on the site and on GitHub): ``<!-- figure:scaling.cp_ray1_sps -->60.1<!-- /figure -->``. A bare
``{file.figure}`` outside a table would show as typed, so it is an error.

    python docs/render.py          # rewrite every block
    python docs/render.py --check  # write nothing; exit 1, naming each stale file, if any block differs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATA = DOCS / "results" / "data"
CONFIG_REFERENCE = "config-reference"

BLOCK = re.compile(r"(?P<open><!-- table:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- /table -->)", re.S)
# {figure} names a figure of the same data file, {file.figure} one of another.
FIGURE = re.compile(r"\{(?:(?P<file>\w+)\.)?(?P<figure>\w+)\}")
# A link inside a data file is relative to docs/; it is rewritten relative to the page that shows it.
LINK = re.compile(r"\]\((?!https?:|mailto:|#)(?P<path>[^)#\s]+)(?P<anchor>#[^)\s]*)?\)")

# A figure quoted in prose: <!-- figure:file.name -->value<!-- /figure -->.
INLINE = re.compile(
    r"(?P<open><!-- figure:(?P<file>\w+)\.(?P<figure>\w+) -->)(?P<value>.*?)(?P<close><!-- /figure -->)"
)
# What a placeholder typed into prose instead looks like (a data file name, a dot, a figure name).
BARE = re.compile(r"\{(?P<file>[a-z]\w*)\.(?P<figure>\w+)\}")

Table = tuple[list[str], list[list[str]]]


class RenderError(ValueError):
    """A block or a figure that names something no data file holds."""


def pages() -> list[Path]:
    """Every page that may hold generated blocks (the data folder's own README holds none)."""
    found = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [page for page in found if DATA not in page.parents]


def load_data() -> dict[str, dict[str, Any]]:
    """Data file name (without .json) -> its contents."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DATA.glob("*.json"))}


# -- Views: how a benchmark's own JSON (a data file's "result") becomes a table -----------------------------------


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _seed_cells(run: dict[str, Any]) -> list[str]:
    """A seed's solved, steps to solve, seconds to solve and final mean (min)."""
    steps = run["env_steps_to_solve"]
    return [
        "yes" if run["solved"] else "no",
        _number(steps) if steps is not None else f"not in {_number(run['total_env_steps'])}",
        _number(run["seconds_to_solve"]),
        f"{_number(run['final_eval_mean'])} ({_number(run['final_eval_min'])})",
    ]


def _summary_cells(result: dict[str, Any]) -> list[str]:
    """Seeds solved, median and worst steps, median seconds, in bold under the seeds' columns."""
    return [
        f"**{result['solved']}/{result['seeds']}**",
        f"**{_number(result['median_env_steps_to_solve'])}, {_number(result['worst_env_steps_to_solve'])}**",
        f"**{_number(result['median_seconds_to_solve'])}**",
        "",
    ]


SEED_COLUMNS = ["solved", "environment steps to solve", "seconds to solve", "final mean (min)"]


def solve_seeds_view(result: dict[str, Any]) -> Table:
    """``solve_suite.py`` / ``solve_cartpole.py`` without ``--compare``: a row per seed, then the summary."""
    rows = [[str(run["seed"]), *_seed_cells(run)] for run in result["runs"]]
    rows.append(["**solved, median, worst**", *_summary_cells(result)])
    return ["seed", *SEED_COLUMNS], rows


def solve_compare_seeds_view(result: dict[str, Any]) -> Table:
    """``solve_cartpole.py --compare``: a row per seed with every configuration's cells side by side (the
    configurations as in ``table``), then each one's summary."""
    configs = result["configs"]
    short = ["solved", "steps", "seconds", "final mean (min)"]  # the configuration named once, over its cells
    columns = ["seed"] + [
        f"`{c['config']}`: {column}" if j == 0 else column for c in configs for j, column in enumerate(short)
    ]
    rows = []
    for i, run in enumerate(configs[0]["runs"]):
        rows.append([str(run["seed"])] + [cell for c in configs for cell in _seed_cells(c["runs"][i])])
    rows.append(["**solved, median, worst**"] + [cell for c in configs for cell in _summary_cells(c)])
    return columns, rows


def solve_compare_view(result: dict[str, Any]) -> Table:
    """``solve_cartpole.py --compare``: a row per configuration (its ``table``)."""
    columns = ["configuration", "solved", "median steps", "worst steps", "median s", "worst s"]
    keys = ["config", "solved", "median_steps", "worst_steps", "median_seconds", "worst_seconds"]
    return columns, [[_number(row[key]) for key in keys] for row in result["table"]]


def _record(record: dict[str, Any]) -> str:
    """A final evaluation's record: score, wins/draws/losses over both colours and the distinct games."""
    total = {k: record["first"][k] + record["second"][k] for k in ("wins", "draws", "losses")}
    wdl = f"{total['wins']}/{total['draws']}/{total['losses']}"
    return f"**{record['score']:.3f}** ({wdl}, {_number(record['distinct_games'])} distinct)"


def solve_games_view(result: dict[str, Any]) -> Table:
    """``solve_games.py`` outputs by label ({label: output}): a row per run with its final evaluation against
    every opponent (score, W/D/L, distinct games)."""
    runs = [(label, run) for label, output in result.items() for game in output.values() for run in game["runs"]]
    opponents = list(runs[0][1]["final"])
    columns = ["run", "seed", "training time", "moves", "training steps", *[f"final: {o}" for o in opponents]]
    rows = []
    for label, run in runs:
        minutes = f"{run['training_seconds'] / 60:.1f} min"
        final = [_record(run["final"][o]) for o in opponents]
        rows.append(
            [label, str(run["seed"]), minutes, _number(run["total_env_steps"]), _number(run["train_steps"]), *final]
        )
    return columns, rows


def search_records_view(result: dict[str, Any]) -> Table:
    """``search_speed.py --json`` outputs by label ({label: [record, ...]}): a row per batch size."""
    columns = [
        "network",
        "parameters",
        "trees (B)",
        "simulations",
        "ms per search",
        "expansions/s",
        "ms per network call",
        "network share",
    ]
    rows = []
    for label, records in result.items():
        for r in records:
            ms = 1000 * r["seconds_per_search_batch"]
            rows.append(
                [
                    label,
                    _number(r["parameters"]),
                    str(r["batch"]),
                    str(r["simulations"]),
                    f"{ms:,.1f}",
                    _number(round(r["expansions_per_s"])),
                    f"{r['ms_per_network_call']:.3f}",
                    f"{r['network_share']:.2f}",
                ]
            )
    return columns, rows


def learner_view(result: dict[str, Any]) -> Table:
    """``train_speed.py --no-run`` outputs by label ({label: output}): the learner's cost per step."""
    columns = [
        "network",
        "parameters",
        "batch, K",
        "threads",
        "compiled",
        "steps/s",
        "ms sampling and targets",
        "ms gradient step",
    ]
    rows = []
    for label, output in result.items():
        r = output["learner"]
        rows.append(
            [
                label,
                _number(r["parameters"]),
                f"{r['batch_size']}, {r['unroll_steps']}",
                str(r["threads"]),
                "yes" if r["compiled"] else "no",
                _number(r["train_steps_per_s"]),
                f"{r['ms_sampling_and_targets']:.1f}",
                f"{r['ms_gradient_step']:.1f}",
            ]
        )
    return columns, rows


def scaling_view(result: dict[str, Any]) -> Table:
    """``scaling.py``'s output: a row per environment and backend."""
    columns = [
        "environment",
        "backend",
        "wall",
        "env steps/s",
        "training steps/s",
        "replay ratio (target)",
        "policy lag mean, max",
        "learner waited",
        "env steps/s per actor",
        "peak RSS driver, actor (MiB)",
        "solved at",
    ]
    rows = []
    for r in result["records"]:
        backend = "in-process" if r["backend"] == "inprocess" else f"Ray, {r['actors']} actor{'s' * (r['actors'] > 1)}"
        per_actor = ", ".join(f"{rate:,.0f}" for rate in r["actor_env_steps_per_second"] or []) or "-"
        actor_rss = "-" if not r["rss_peak_actor_mib"] else f"{r['rss_peak_actor_mib']:,.0f}"
        solved = "-"
        if "solved" in r:
            solved = (
                "not solved"
                if not r["solved"]
                else (f"{_number(r['env_steps_to_solve'])} steps, {r['seconds_to_solve']:,.0f} s")
            )
        rows.append(
            [
                r["env"],
                backend,
                f"{r['wall_seconds']:,.0f} s",
                f"{r['env_steps_per_second']:,.1f}",
                f"{r['train_steps_per_second']:,.1f}",
                f"{r['replay_ratio_achieved']:.3f} ({r['replay_ratio_target']:g})",
                f"{r['policy_lag_mean']:,.0f}, {_number(r['policy_lag_max'])}",
                f"{r['learner_wait_seconds']:,.0f} s",
                per_actor,
                f"{r['rss_peak_driver_mib'] or 0:,.0f}, {actor_rss}",
                solved,
            ]
        )
    return columns, rows


def scaling_model_view(result: dict[str, Any]) -> Table:
    """``scaling.py``'s cost model: predicted env steps/s per core count and what bounds it."""
    columns = ["environment", "cores", "actors", "predicted env steps/s", "bound by", "limits (env steps/s)"]
    rows = []
    for r in result["cost_model"]:
        limits = ", ".join(f"{name} {value:,.0f}" for name, value in r["limits"].items())
        rows.append(
            [
                r["env"],
                str(r["cores"]),
                str(r["actors"]),
                f"{r['predicted_env_steps_per_second']:,.0f}",
                r["bound_by"],
                limits,
            ]
        )
    return columns, rows


def memory_view(result: dict[str, Any]) -> Table:
    """``memory.py``'s samples: the first six, then every third, and the last (each process's resident MiB)."""
    ray = result.get("backend") == "ray"
    columns = ["minute", "environment steps", "transitions in replay", "driver RSS (MiB)"]
    if ray:
        columns.append("each actor's RSS (MiB)")
    samples = result["samples"]
    shown = [s for k, s in enumerate(samples) if k < 6 or k % 3 == 0 or k == len(samples) - 1]
    rows = []
    for s in shown:
        row = [f"{s['minute']:g}", _number(s["env_steps"]), _number(s["replay_rows"]), f"{s['rss_mib']:.1f}"]
        if ray:
            row.append(", ".join("gone" if v is None else f"{v:.1f}" for v in s["actor_rss_mib"]) or "-")
        rows.append(row)
    return columns, rows


def image_memory_view(result: dict[str, Any]) -> Table:
    """``memory.py --images-only``: replay's bytes per transition for each image observation it sizes."""
    columns = ["observation", "bytes a transition, as stored", "as float32 stacks", "saved", "GiB a million"]
    rows = []
    for r in result["image_bytes_per_transition"]:
        stored, plain = r["bytes_per_transition"], r["float32_stacks_bytes_per_transition"]
        rows.append(
            [
                r["observation"],
                _number(stored),
                _number(plain),
                f"{plain / stored:.1f}x",
                f"{r['gib_per_million_transitions']:g}",
            ]
        )
    return columns, rows


def _at(evaluations: list[dict[str, Any]], steps: int) -> str:
    found = [e for e in evaluations if e["env_steps"] == steps]
    return f"{found[0]['mean']:.2f}" if found else "—"


def minatar_view(result: dict[str, Any]) -> Table:
    """``solve_minatar.py``'s outputs (one, or a mapping of labels to several): a row per game, agent and seed,
    with the 100-episode greedy mean at 100k environment steps and, for the baselines, at 1M."""
    outputs = [result] if "games" in result else list(result.values())
    columns = ["game", "agent", "seed", "environment steps", "training time", "greedy mean, 100k", "greedy mean, 1M"]
    rows = []
    for output in outputs:
        for game, entry in output["games"].items():
            for run in entry.get("muzero", {}).get("runs", []):
                at_100k = run["final_eval_mean"] if run["total_env_steps"] == 100_000 else None
                minutes = f"{run['training_seconds'] / 60:.1f} min"
                rows.append(
                    [
                        game,
                        "muzero (minatar preset)",
                        str(run["seed"]),
                        _number(run["total_env_steps"]),
                        minutes,
                        "—" if at_100k is None else f"**{at_100k:.2f}**",
                        "—",
                    ]
                )
            for run in entry.get("baselines", []):
                last = run["evaluations"][-1]
                minutes = f"{last['seconds'] / 60:.1f} min"
                rows.append(
                    [
                        game,
                        f"SB3 {run['algo'].upper()}",
                        str(run["seed"]),
                        _number(last["env_steps"]),
                        minutes,
                        _at(run["evaluations"], 100_000),
                        _at(run["evaluations"], 1_000_000),
                    ]
                )
    return columns, rows


def frozenlake_view(result: dict[str, Any]) -> Table:
    """``solve_frozenlake.py``'s output: a row per model and seed (greedy success rate over its episodes, the
    exact rate of the greedy policy, states where the search's choice is optimal), then each model's count."""
    optimum = result["optimum"]["finite_horizon"]
    columns = [
        "model",
        "seed",
        "greedy success rate",
        f"exact rate of that policy (optimum {optimum:.3f})",
        "exact rate of the argmax of the model's own Q",
        "states where the search is optimal (of 11)",
        "environment steps",
        "training time",
    ]
    rows = []
    for model, entry in result["models"].items():
        for run in entry["runs"]:
            final = run["final"]
            choosers = final.get("chooser_exact_rates", {})  # the stochastic model's Q: its expectation over codes
            model_q = choosers.get("chance_q", choosers.get("model_q"))
            rows.append(
                [
                    model,
                    str(run["seed"]),
                    f"{final['success_rate']:.3f} ({_number(final['episodes'])} episodes)",
                    f"{final['policy_exact_rate']:.3f}",
                    "" if model_q is None else f"{model_q:.3f}",
                    str(final["optimal_choices"]["search"]),
                    _number(run["total_env_steps"]),
                    f"{run['training_seconds'] / 60:.1f} min",
                ]
            )
        summary = entry["summary"]
        rows.append(
            [
                f"**{model}**",
                f"**{summary['seeds_at_target']} of {summary['seeds']} at >= {result['target']:.2f}**",
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    return columns, rows


def game2048_view(result: dict[str, Any]) -> Table:
    """``solve_2048.py``'s output: a row per model and seed (greedy games' mean score, the share reaching 512,
    1024 and 2048), then each model's mean."""
    columns = [
        "model",
        "seed",
        "mean score",
        "reached 512",
        "reached 1024",
        "reached 2048",
        "environment steps",
        "training time",
    ]
    rows = []
    for model, entry in result["models"].items():
        for run in entry["runs"]:
            games = run["final_games"]
            rows.append(
                [
                    model,
                    str(run["seed"]),
                    f"{games['mean_score']:,.0f} ({games['games']} games)",
                    *(f"{games['reached'][t]:.0%}" for t in ("512", "1024", "2048")),
                    _number(run["total_env_steps"]),
                    f"{run['training_seconds'] / 60:.0f} min",
                ]
            )
        summary = entry["summary"]
        rows.append(
            [
                f"**{model}**",
                f"**mean of {summary['seeds']}**",
                f"**{summary['mean_score']:,.0f}**",
                *(f"**{summary['reached'][t]:.0%}**" for t in ("512", "1024", "2048")),
                "",
                "",
            ]
        )
    return columns, rows


VIEWS: dict[str, Callable[[dict[str, Any]], Table]] = {
    "frozenlake": frozenlake_view,
    "game2048": game2048_view,
    "image_memory": image_memory_view,
    "minatar": minatar_view,
    "memory": memory_view,
    "scaling": scaling_view,
    "scaling_model": scaling_model_view,
    "search_records": search_records_view,
    "learner": learner_view,
    "solve_seeds": solve_seeds_view,
    "solve_compare": solve_compare_view,
    "solve_compare_seeds": solve_compare_seeds_view,
    "solve_games": solve_games_view,
}


# -- Rendering ----------------------------------------------------------------------------------------------------


def figure(data: dict[str, dict[str, Any]], file: str, name: str) -> str:
    """A named figure: typed as carried over (a string), or read from the benchmark's result ({"result": path})."""
    figures = data.get(file, {}).get("figures", {})
    if name not in figures:
        raise RenderError(f"no figure {name!r} in docs/results/data/{file}.json")
    value = figures[name]
    if isinstance(value, str):
        return value
    found: Any = data[file]["result"]
    for key in value["result"].split("."):
        found = found[int(key)] if isinstance(found, list) else found[key]
    return _number(found)


def resolve(text: str, file: str, data: dict[str, dict[str, Any]]) -> str:
    """``text`` with every {figure} and {file.figure} replaced by the figure it names."""
    return FIGURE.sub(lambda m: figure(data, m["file"] or file, m["figure"]), text)


def relink(text: str, page: Path) -> str:
    """Links written relative to docs/ made relative to ``page``."""

    def local(match: re.Match[str]) -> str:
        target = Path(os.path.relpath(DOCS / match["path"], page.parent)).as_posix()
        return f"]({target}{match['anchor'] or ''})"

    return LINK.sub(local, text)


def table_of(entry: dict[str, Any]) -> Table:
    """Columns and rows of a data file: typed ("rows", figures carried over) or computed by its view."""
    if "rows" in entry:
        return entry["columns"], entry["rows"]
    if entry.get("view") not in VIEWS:
        raise RenderError(f"a data file needs rows, or a view among {sorted(VIEWS)}, not {entry.get('view')!r}")
    return VIEWS[entry["view"]](entry["result"])


def markdown_row(cells: list[str]) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def caption(name: str, entry: dict[str, Any]) -> str:
    """One line under a table naming its data file and where its figures come from (links relative to docs/)."""
    provenance = entry["provenance"]
    source = f"[{name}.json](results/data/{name}.json)"
    carried = provenance.get("carried_over_from")
    if carried:
        return f"*Data: {source}, carried over from {carried['file']} at commit {carried['commit'][:8]}.*"
    threads = provenance.get("threads")
    shown = "" if threads is None else f", {threads} thread{'s' if threads != 1 else ''}"
    return f"*Data: {source}, measured at commit {provenance['commit'][:8]} on {provenance['date']}{shown}.*"


def render_table(name: str, data: dict[str, dict[str, Any]]) -> str:
    if name not in data:
        raise RenderError(f"no data file docs/results/data/{name}.json")
    columns, rows = table_of(data[name])
    lines = [markdown_row(columns), "|" + "---|" * len(columns)]
    lines += [markdown_row([resolve(cell, name, data) for cell in row]) for row in rows]
    return "\n".join([*lines, "", caption(name, data[name])])


def render_block(name: str, data: dict[str, dict[str, Any]], page: Path) -> str:
    """The Markdown that belongs between a block's markers on ``page``."""
    if name == CONFIG_REFERENCE:
        from muzero.config import markdown_reference

        return markdown_reference() + "\n"
    return relink(render_table(name, data), page) + "\n"


def render_page(text: str, page: Path, data: dict[str, dict[str, Any]]) -> str:
    def block(match: re.Match[str]) -> str:
        return match["open"] + render_block(match["name"], data, page) + match["close"]

    def inline(match: re.Match[str]) -> str:
        return match["open"] + figure(data, match["file"], match["figure"]) + match["close"]

    prose = BLOCK.sub("", text)
    bare = next((m for m in BARE.finditer(prose) if m["file"] in data), None)
    if bare is not None:
        raise RenderError(
            f"{page.relative_to(ROOT)}: {bare[0]} in prose shows as typed; write "
            f"<!-- figure:{bare['file']}.{bare['figure']} --><!-- /figure --> and rerun"
        )
    return INLINE.sub(inline, BLOCK.sub(block, text))


def used_names(texts: dict[Path, str]) -> set[str]:
    """Data files a page shows as a table or quotes a figure of."""
    tables = {match["name"] for text in texts.values() for match in BLOCK.finditer(text)}
    return tables | {match["file"] for text in texts.values() for match in INLINE.finditer(text)}


def referenced_files(data: dict[str, dict[str, Any]]) -> set[str]:
    """Data files whose figures another data file quotes."""
    return {
        match["file"]
        for entry in data.values()
        for row in entry.get("rows", [])
        for cell in row
        for match in FIGURE.finditer(cell)
        if match["file"]
    }


def render_all() -> dict[Path, tuple[str, str]]:
    """Page -> (its text now, its text rendered). Fails on a data file that no page shows."""
    data = load_data()
    texts = {page: page.read_text() for page in pages()}
    unused = set(data) - used_names(texts) - referenced_files(data)
    if unused:
        raise RenderError(f"data files no page shows: {', '.join(sorted(unused))}")
    return {page: (text, render_page(text, page, data)) for page, text in texts.items()}


def stale() -> list[Path]:
    """Pages whose generated blocks differ from what the data renders."""
    return [page for page, (now, rendered) in render_all().items() if now != rendered]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any block is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the configuration reference of this checkout's code, not an installed copy's
    try:
        rendered = render_all()
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    changed = [page for page, (now, new) in rendered.items() if now != new]
    for page in changed:
        relative = page.relative_to(ROOT)
        if args.check:
            print(f"stale: {relative} (rerun: python docs/render.py)", file=sys.stderr)
        else:
            page.write_text(rendered[page][1])
            print(f"rewrote {relative}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
