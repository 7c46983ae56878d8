"""The command line as a user runs it: in a subprocess, on tiny budgets."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # every test runs the command line in a subprocess


@pytest.fixture(scope="module")
def trained_run(cli, tiny_cli_args, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    cli("train", "--max-env-steps", "64", "--run-dir", str(run_dir), "--quiet", *tiny_cli_args, check=True)
    return run_dir


def test_train_writes_a_complete_run_directory(trained_run):
    names = {p.name for p in trained_run.iterdir()}
    for expected in ("config.json", "metrics.csv", "checkpoint.pt", "summary.json", "learning_curve.png", "agent.gif"):
        assert expected in names, names
    assert any(n.startswith("events.out.tfevents") for n in names)
    summary = json.loads((trained_run / "summary.json").read_text())
    for key in (
        "env_id",
        "seed",
        "solved",
        "env_steps_to_solve",
        "seconds_to_solve",
        "final_eval",
        "total_env_steps",
        "total_train_steps",
        "wall_seconds",
        "versions",
    ):
        assert key in summary, key
    assert summary["env_id"] == "CartPole-v1" and summary["total_env_steps"] == 64
    assert set(summary["final_eval"]) == {"episodes", "mean", "std", "min", "max"}
    assert set(summary["versions"]) >= {"muzero", "torch", "gymnasium", "python"}
    config = json.loads((trained_run / "config.json").read_text())
    assert config["config"]["search"]["num_simulations"] == 4
    header = (trained_run / "metrics.csv").read_text().splitlines()[0]
    assert header == "tag,value,env_steps,train_steps,wall_seconds"


def test_eval_json(cli, trained_run):
    result = cli("eval", str(trained_run), "--episodes", "3", "--json", check=True)
    data = json.loads(result.stdout)
    assert set(data) == {"episodes", "mean", "std", "min", "max", "returns"}
    assert data["episodes"] == 3 and len(data["returns"]) == 3
    assert data["mean"] == pytest.approx(sum(data["returns"]) / 3)


def test_render_and_plot(cli, trained_run, tmp_path):
    out = tmp_path / "episode.gif"
    cli("render", str(trained_run), "--out", str(out), "--episodes", "2", check=True)
    assert out.stat().st_size > 0
    plot = tmp_path / "curves.png"
    cli("plot", str(trained_run), str(trained_run), "--out", str(plot), check=True)
    assert plot.stat().st_size > 0


def test_diagnose_and_tree_write_their_files(cli, trained_run, tmp_path):
    result = cli("diagnose", str(trained_run), "--episodes", "2", "--out", str(tmp_path), check=True)
    report = json.loads((tmp_path / "diagnose.json").read_text())
    assert [entry["k"] for entry in report["per_k"]] == list(range(2 * report["unroll_steps"] + 1))
    assert "probe" in report["cartpole"] and (tmp_path / "diagnose.png").stat().st_size > 0
    assert "k= 1: reward |error|" in result.stdout
    cli("tree", str(trained_run), "--seed", "1", "--steps", "3", "--out", str(tmp_path / "t.svg"), check=True)
    assert (tmp_path / "t.svg").read_text().count("<circle") > 1


def test_help_documents_every_option_and_config_key(cli):
    from muzero.config import field_docs

    text = cli("train", "--help", check=True).stdout
    for option in ("--preset", "--env", "--seed", "--max-env-steps", "--run-dir", "--set", "--resume"):
        assert option in text
    for key, *_ in field_docs():
        assert key in text, key
    commands = ("train", "config", "eval", "render", "plot", "diagnose", "tree", "play")
    overview = cli("--help", check=True).stdout
    # The overview describes each command on a line of its own: "    train     train an agent (...)".
    described = [line.split()[0] for line in overview.splitlines() if line.startswith("    ") and line[4] != " "]
    assert sorted(described) == sorted(commands)
    for command in commands:
        assert "usage: muzero " + command in cli(command, "--help", check=True).stdout


def test_the_unknown_key_error_names_a_command_that_lists_every_key(capsys):
    from muzero.app.cli import main
    from muzero.config import Config, field_docs
    from muzero.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        Config().with_sets(["search.simulations=5"])
    named = re.search(r"\((muzero [^()]+) lists them all\)", str(error.value))
    assert named, str(error.value)
    program, *argv = shlex.split(named.group(1))
    with pytest.raises(SystemExit) as exited:  # argparse's --help exits; a command returns its status
        raise SystemExit(main(argv))
    assert program == "muzero" and exited.value.code == 0
    printed = capsys.readouterr().out
    for key, _, _, text in field_docs():
        assert f"  {key} (" in printed and text in printed, key


def test_resume_continues_to_a_larger_budget(cli, trained_run, tmp_path):
    copy = tmp_path / "resumed"
    subprocess.run(["cp", "-r", str(trained_run), str(copy)], check=True)
    before = json.loads((copy / "summary.json").read_text())
    cli("train", "--resume", str(copy), "--max-env-steps", "96", "--quiet", check=True)
    after = json.loads((copy / "summary.json").read_text())
    assert after["total_env_steps"] == 96
    assert after["total_train_steps"] > before["total_train_steps"]


@pytest.mark.parametrize(
    "env_args",
    [
        ["--env", "Taxi-v4"],
        ["--env", "FrozenLake-v1", "--env-kwargs", "map_name=8x8", "is_slippery=False"],
        ["--env", "tests.fake_envs:muzero-test/DictCorridor-v0"],  # a user's own env with a Dict observation
    ],
)
def test_non_box_environments_train_evaluate_and_render_without_a_wrapper(cli, tiny_cli_args, env_args, tmp_path):
    run_dir = tmp_path / "run"
    cli("train", *env_args, "--max-env-steps", "48", "--run-dir", str(run_dir), "--quiet", *tiny_cli_args, check=True)
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["env"]["id"] == env_args[1]
    assert config["network"]["value_support_size"] is not None  # chosen from the environment and recorded
    if "--env-kwargs" in env_args:
        assert config["env"]["kwargs"] == ["map_name=8x8", "is_slippery=False"]
    result = json.loads(cli("eval", str(run_dir), "--episodes", "2", "--json", check=True).stdout)
    assert result["episodes"] == 2
    assert (run_dir / "agent.gif").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--preset", "cartpoles"], "unknown preset 'cartpoles'; known presets: acrobot, atari, cartpole"),
        (["train", "--set", "search.num_simulation=5"], "did you mean 'search.num_simulations'"),
        (["train", "--set", "discount=1.5"], "discount = 1.5 is out of range"),
        (["train", "--env", "CartPol-v1"], "unknown environment 'CartPol-v1'"),
        (["train", "--env", "Pendulum-v1"], "supports Discrete action spaces"),
        (["train", "--env", "tests.fake_envs:muzero-test/HugeImageEnv-v0"], "resize them"),
        (
            ["train", "--env", "FrozenLake-v1", "--env-kwargs", "is_slipery=False"],
            "FrozenLake-v1 rejected its keyword arguments (is_slipery=False)",
        ),
        (["eval", "does/not/exist"], "no such run directory or checkpoint"),
        (["train", "--resume", "does/not/exist"], "no such run directory"),
        (["train", "--config", "tests/missing.toml"], "cannot read --config tests/missing.toml"),
        (["train", "--config", "README.md"], "not valid TOML"),
        (["train", "--config", "muzero/presets/cartpole.toml", "--preset", "generic"], "give one of them"),
        (["train", "--device", "gpu0"], "is not a device"),
        (["config", "show", "--set", "search.num_simulation=5"], "did you mean 'search.num_simulations'"),
    ],
)
def test_bad_input_is_one_clear_line_and_status_2(cli, args, message):
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_and_truncated_checkpoints_are_refused(cli, trained_run, tmp_path):
    data = (trained_run / "checkpoint.pt").read_bytes()
    for name, content in (("garbage", b"not a checkpoint at all"), ("truncated", data[: len(data) // 2])):
        run = tmp_path / name
        run.mkdir()
        (run / "checkpoint.pt").write_bytes(content)
        result = cli("eval", str(run))
        assert result.returncode == 2 and "corrupt or truncated" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_mismatched_checkpoint_is_refused(cli, trained_run, tmp_path):
    for setting, message in (("network.hidden_size=8", "does not fit"), ("env.id=Acrobot-v1", "checkpoint is for")):
        copy = tmp_path / setting.split("=")[0]
        subprocess.run(["cp", "-r", str(trained_run), str(copy)], check=True)
        result = cli("train", "--resume", str(copy), "--set", setting, "--quiet")
        assert result.returncode == 2 and message in result.stderr, result.stderr


def _start_training(cli_process, tiny_cli_args: list[str], run_dir: Path, steps: int, *extra: str):
    return cli_process(
        "train",
        "--max-env-steps",
        str(steps),
        "--run-dir",
        str(run_dir),
        *tiny_cli_args,
        "--set",
        "run.checkpoint_interval=16",
        *extra,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, "timed out waiting for " + str(path)
        time.sleep(0.05)


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.9])
def test_a_run_killed_at_any_moment_resumes_from_its_last_checkpoint(cli, cli_process, tiny_cli_args, tmp_path, delay):
    run_dir = tmp_path / "killed"
    process = _start_training(cli_process, tiny_cli_args, run_dir, 100_000, "--quiet")
    _wait_for(run_dir / "checkpoint.pt", process)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)  # intact, whenever the kill came
    reached = state["counters"]["env_steps"]
    result = cli("train", "--resume", str(run_dir), "--max-env-steps", str(reached + 32), "--quiet")
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["total_env_steps"] == reached + 32
    # Rows written after the checkpoint (progress that was lost) were dropped, so steps never go backwards
    # between the part before the kill and the resumed part.
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    steps = [int(r.split(",")[2]) for r in rows]
    assert steps == sorted(steps)


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(cli_process, tiny_cli_args, tmp_path):
    run_dir = tmp_path / "interrupted"
    process = _start_training(cli_process, tiny_cli_args, run_dir, 100_000)
    # The first periodic checkpoint: training has stepped (metrics.csv appears before the loss is compiled).
    _wait_for(run_dir / "checkpoint.pt", process)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "muzero train --resume" in err
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["counters"]["env_steps"] > 0


@pytest.mark.parametrize(
    "choice",
    [[], ["--env", "Taxi-v4"], ["--preset", "generic", "--env", "Acrobot-v1", "--set", "learner.td_steps=50"]],
)
def test_config_show_prints_toml_that_config_reads_back_unchanged(cli, choice, tmp_path):
    from muzero.config import Config
    from muzero.presets import resolve

    shown = cli("config", "show", *choice, check=True).stdout
    path = tmp_path / "config.toml"
    path.write_text(shown)
    again = cli("config", "show", "--config", str(path), check=True).stdout
    assert again.splitlines()[1:] == shown.splitlines()[1:]  # the first line names the source
    env = choice[choice.index("--env") + 1] if "--env" in choice else None
    sets = [choice[i + 1] for i, arg in enumerate(choice) if arg == "--set"]
    expected = resolve(env, "generic" if "--preset" in choice else None)[0].with_sets(sets)
    assert Config.from_toml(shown) == expected


def test_train_takes_a_config_file_and_names_runs_portably(cli, tiny_cli_args, tmp_path):
    from muzero.app.runner import default_run_dir
    from muzero.config import Config

    path = tmp_path / "tiny.toml"
    path.write_text(cli("config", "show", *tiny_cli_args, "--set", "search.num_simulations=3", check=True).stdout)
    run_dir = tmp_path / "run"
    cli("train", "--config", str(path), "--max-env-steps", "32", "--run-dir", str(run_dir), "--quiet", check=True)
    recorded = Config.from_dict(json.loads((run_dir / "config.json").read_text())["config"])
    expected = Config.from_toml(path.read_text()).with_sets(["run.max_env_steps=32"])
    chosen = {"network.value_support_size": None, "network.reward_support_size": None}  # chosen at run start
    assert recorded.network.dynamics in ("deterministic", "stochastic")  # auto, resolved by the probe
    assert recorded.network.chance_labels in ("encoder", "env")  # auto, resolved by the probe too
    chosen["network.dynamics"] = expected.network.dynamics
    chosen["network.chance_labels"] = expected.network.chance_labels
    assert recorded.replace(chosen) == expected
    assert recorded.search.num_simulations == 3

    name = default_run_dir(Config().replace({"env.id": 'my_pkg.envs:Grid<2>|"v0"?*'}), "generic").name
    assert not set(name) & set('<>:"/\\|?*')
