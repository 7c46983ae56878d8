"""The configuration schema: every key of a run with its default, its meaning and its valid range.

One frozen, nested dataclass per run. Each field is declared with ``param(default, help, ...)``;
a section checks its fields' types and ranges when it is built (``fields.Section``), so a bad
value fails at once with the key's name and range instead of deep in training. ``Config`` takes
its round trips through dicts, TOML and ``--set`` strings from ``convert.Root``. Presets are TOML
files resolved into a ``Config`` (see ``muzero.presets``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from muzero.config.convert import Root
from muzero.config.fields import Section, param
from muzero.errors import ConfigError

VECTORIZATION = ("sync", "async")


@dataclass(frozen=True)
class EnvConfig(Section, key="env"):
    id: str = param("CartPole-v1", "Gymnasium environment id (discrete actions; any observation space).")
    kwargs: tuple[str, ...] = param(
        (), "Keyword arguments for gymnasium.make, as key=value (command line: --env-kwargs k=v k=v)."
    )
    vectorization: str = param(
        "sync",
        "How the training environments run: Gymnasium's 'sync' or 'async' vector env.",
        choices=VECTORIZATION,
    )
    num_envs: int = param(16, "Environments acting in parallel during training; one batched search serves all.", low=1)
    max_episode_steps: int | None = param(
        None,
        "Override the environment's episode step limit (truncation); one registered without a limit gets 1,000.",
        low=1,
    )
    reward_scale: float = param(
        1.0, "Rewards are multiplied by this before learning (returns are reported unscaled).", low=0.0, low_open=True
    )
    frame_stack: int = param(
        1,
        "Images: the network reads this many of the newest frames, oldest first (an episode's first frame "
        "repeated before it); replay stores each frame once and stacks by index (muzero.envs.stacking).",
        low=1,
    )
    stack_actions: bool = param(
        False,
        "Images: the network also reads the one-hot actions that led to each stacked frame, as constant planes.",
    )
    image_channels: str = param(
        "auto",
        "Images of rank 3: where their channels are, 'last' (H, W, C), 'first' (C, H, W) or 'auto' (first when "
        "the first axis is shorter than the last, as in (4, 84, 84); else last, as in MinAtar's (10, 10, 4)).",
        choices=("auto", "first", "last"),
    )
    atari_preprocessing: bool | None = param(
        None,
        "ALE/ (Atari) environments: Gymnasium's AtariPreprocessing (grayscale, 84x84, frame skip 4 with max "
        "pooling, up to 30 no-op starts, no terminal on life loss) on a frameskip-1 base; None = on for ALE/ ids.",
    )


@dataclass(frozen=True)
class NetworkConfig(Section, key="network"):
    kind: str = param(
        "auto",
        "Networks: 'mlp' (multilayer perceptrons over the flat observation), 'resnet' (residual convolutions over "
        "board planes or images, a spatial hidden state; muzero.model.resnet) or 'auto' (resnet when the "
        "observation has a grid of planes, as PettingZoo's board games and images do; mlp otherwise).",
        choices=("auto", "mlp", "resnet"),
    )
    channels: int = param(32, "resnet: channels of every convolution of the towers.", low=1)
    downsample: int | None = param(
        None,
        "resnet: stride-2 stages before the representation tower (each halves height and width); None = none "
        "for boards and images of at most 16 pixels a side, else enough to bring the smaller side to 8 or less.",
        low=0,
        high=4,
    )
    blocks: int = param(2, "resnet: residual blocks in the representation and in the dynamics tower.", low=0)
    latent_size: int = param(32, "mlp: size of the hidden state s (resnet: channels x height x width).", low=1)
    hidden_size: int = param(
        128, "Width of the hidden layers of every network (resnet: of the value and reward heads).", low=1
    )
    num_layers: int = param(1, "mlp: hidden layers in each of representation, dynamics and prediction.", low=0)
    value_support_size: int | None = param(
        None,
        "Value head is categorical over integers -S..S (after the h transform); None = chosen from the "
        "environment's reward scale and episode limit (10 on CartPole).",
        low=1,
    )
    reward_support_size: int | None = param(
        None,
        "Reward head is categorical over integers -S..S (after the h transform); None = chosen from the "
        "environment's reward scale (5 on CartPole).",
        low=1,
    )
    layer_norm: bool = param(
        True,
        "Layer normalisation after each hidden layer (steadier training); resnet: per-sample normalisation "
        "(GroupNorm, one group) after each convolution.",
    )
    projection_size: int = param(64, "Width of the projection heads of the consistency loss.", low=1)
    dynamics: str = param(
        "auto",
        "The learned transition: 'deterministic' (MuZero: g(s, a) -> s', r), 'stochastic' (Stochastic MuZero, "
        "for environments with chance: an afterstate (s, a) -> as with its value Q(as) and a distribution "
        "sigma(c | as) over chance codes, then (as, c) -> s', r; the search adds chance nodes), or 'auto': "
        "stochastic where a random policy, probing the environment before training, sees one observation and "
        "action lead to different outcomes, else deterministic (CartPole, Acrobot, Taxi: deterministic).",
        choices=("auto", "deterministic", "stochastic"),
    )
    chance_codes: int = param(
        8,
        "stochastic: size C of the codebook of chance outcomes (one-hot codes the chance encoder assigns to "
        "observed transitions). A few more than the outcomes that matter (FrozenLake: 3 slips; the 2048 preset "
        "has 32, one per cell and new tile): on slippery FrozenLake 8 codes learned, 32 did not.",
        low=1,
    )
    chance_labels: str = param(
        "auto",
        "stochastic: where the code of each observed transition comes from. 'encoder': the chance encoder "
        "learns one (the paper); 'env': the environment names the outcome itself, an int in [0, C) in "
        "info['chance'] after each step (a die's face, the cell and value of 2048's new tile: LightZero's "
        "use_ture_chance_label_in_chance_encoder), and the encoder is not used; 'auto': 'env' where the "
        "environment's steps carry info['chance'], else 'encoder'.",
        choices=("auto", "encoder", "env"),
    )


@dataclass(frozen=True)
class SearchConfig(Section, key="search"):
    algorithm: str = param(
        "muzero",
        "Search: 'muzero' (pUCT, Dirichlet root noise, visit-count policy targets, as in the paper) or 'gumbel' "
        "(Gumbel MuZero: Gumbel-top-k root actions, Sequential Halving, improved-policy targets).",
        choices=("muzero", "gumbel"),
    )
    model: str = param(
        "learned",
        "What expands the search's nodes: 'learned' (the dynamics network, MuZero) or 'true' (the real game rules "
        "instead of the learned dynamics, with the same prediction network and targets: AlphaZero's search, as a "
        "control). 'true' is only for games with rules in muzero.envs.games.rules (tictactoe_v3, connect_four_v3).",
        choices=("learned", "true"),
    )
    num_simulations: int = param(25, "MCTS simulations per move (one batched network call each).", low=1)
    greedy_simulations: int | None = param(
        None,
        "Simulations of the noise-free searches that play greedily: evaluation, predict(deterministic=True), "
        "render, play, diagnose (None = num_simulations). Self-play and Reanalyse always use num_simulations, so "
        "this changes what evaluation measures, not what training does.",
        low=1,
    )
    pb_c_init: float = param(1.25, "pUCT constant c1.", low=0.0)
    pb_c_base: float = param(19652.0, "pUCT constant c2.", low=0.0, low_open=True)
    dirichlet_alpha: float = param(
        0.25, "Dirichlet concentration of the root exploration noise.", low=0.0, low_open=True
    )
    exploration_fraction: float = param(
        0.25, "Weight of the Dirichlet noise mixed into the root prior.", low=0.0, high=1.0
    )
    q_normalization: str = param(
        "tree",
        "Range Q is min-max normalised over: 'tree' (every Q seen in the search, as in the paper) or 'node' "
        "(the node's value and its children's Q, as in mctx).",
        choices=("tree", "node"),
    )
    q_range_floor: float = param(
        0.01, "Smallest (max - min) used to normalise Q to [0, 1]; damps noise.", low=0.0, low_open=True
    )
    gumbel_max_considered: int = param(
        16, "Gumbel: root actions sampled (Gumbel-top-k) for Sequential Halving, m (mctx's default 16).", low=1
    )
    gumbel_scale: float = param(
        1.0, "Gumbel: scale of the root's Gumbel noise while acting (evaluation uses none).", low=0.0
    )
    gumbel_c_visit: float = param(50.0, "Gumbel: c_visit of sigma(q) = (c_visit + max N) * c_scale * q.", low=0.0)
    gumbel_c_scale: float = param(0.1, "Gumbel: c_scale of sigma(q) (mctx's default 0.1).", low=0.0, low_open=True)


@dataclass(frozen=True)
class ReplayConfig(Section, key="replay"):
    capacity: int = param(5_000, "Transitions kept in replay (memory is bounded by this).", low=1)
    priority_alpha: float = param(0.0, "Prioritised replay exponent alpha (0 = uniform sampling).", low=0.0, high=2.0)
    priority_beta: float = param(1.0, "Importance-weight exponent beta (0 = no correction).", low=0.0, high=1.0)
    priority_epsilon: float = param(
        1e-3, "Added to |v - z| so no stored position has priority 0.", low=0.0, low_open=True
    )
    end_reservoir: int = param(
        0,
        "Rows kept apart for the last steps of episodes that truly ended (a fall, a crash, a goal), so that a "
        "good agent's long episodes cannot push every ending out of replay (0 = off; memory grows by this).",
        low=0,
    )
    end_tail_steps: int = param(
        20, "Steps before a true episode end copied into the end reservoir (with the final row).", low=1
    )
    end_reservoir_share: float = param(
        0.0,
        "Fraction of every batch drawn from the end reservoir, whatever its size (0 = its rows are sampled "
        "with all the others, so its share grows with end_reservoir).",
        low=0.0,
        high=0.9,
    )


@dataclass(frozen=True)
class LearnerConfig(Section, key="learner"):
    batch_size: int = param(128, "Positions per training step.", low=1)
    unroll_steps: int = param(5, "K: dynamics steps unrolled per position during training.", low=0)
    td_steps: int = param(10, "n: steps of observed rewards before bootstrapping the value target.", low=1)
    learning_rate: float = param(3e-3, "Adam learning rate after warm-up.", low=0.0, low_open=True)
    lr_warmup_steps: int = param(100, "Training steps of linear learning-rate warm-up.", low=0)
    lr_decay_rate: float = param(
        1.0,
        "Learning rate is multiplied by this every lr_decay_steps (1 = constant).",
        low=0.0,
        low_open=True,
        high=1.0,
    )
    lr_decay_steps: int = param(10_000, "Training steps per lr_decay_rate factor.", low=1)
    weight_decay: float = param(1e-4, "L2 weight decay.", low=0.0)
    max_grad_norm: float = param(5.0, "Gradients are clipped to this global norm.", low=0.0, low_open=True)
    value_loss_weight: float = param(
        0.25, "Weight of the value loss (policy and reward losses have weight 1).", low=0.0
    )
    reanalyse_values: bool = param(
        True,
        "Bootstrap value targets from a fresh target-network value of the stored "
        "observation instead of the stored search value.",
    )
    reanalyse_fraction: float = param(
        0.0,
        "Reanalyse: fraction of each training batch whose policy and value targets come from a fresh search "
        "of the stored observations (0 = off).",
        low=0.0,
        high=1.0,
    )
    reanalyse_network: str = param(
        "target",
        "Reanalyse searches with the 'target' network (as EfficientZero) or the 'current' one.",
        choices=("target", "current"),
    )
    target_update_interval: int = param(
        100, "Training steps between copies of the network into the target network.", low=1
    )
    consistency_loss_weight: float = param(
        2.0,
        "Weight of EfficientZero's temporal-consistency loss between unrolled states and the representation "
        "of the observations actually reached (0 = off).",
        low=0.0,
    )
    afterstate_value_loss_weight: float = param(
        0.25, "stochastic dynamics: weight of the afterstate value loss, Q(as_k) against the value target z_k.", low=0.0
    )
    chance_loss_weight: float = param(
        1.0,
        "stochastic dynamics: weight of the loss of sigma(c | as_k) against the code the chance encoder gives the "
        "transition actually observed.",
        low=0.0,
    )
    commitment_loss_weight: float = param(
        1.0,
        "stochastic dynamics: weight of the commitment loss that pulls the chance encoder's softmax toward its "
        "one-hot code (VQ-VAE's).",
        low=0.0,
    )
    symmetry_augmentation: bool = param(
        True,
        "Train on each sample moved by a random symmetry of the game (tic-tac-toe: the 8 of the square; Connect "
        "Four: the mirror), its observations, unrolled actions and policy targets alike. No effect on "
        "environments without a declared symmetry group.",
    )
    compile: str = param(
        "auto",
        "Compile the loss with torch.compile: 'on', 'off', or 'auto' (on when a run plans at least 20,000 "
        "gradient steps, enough to repay the one-off compilation). Falls back to eager with a warning when "
        "compilation fails.",
        choices=("auto", "on", "off"),
    )


@dataclass(frozen=True)
class ActingConfig(Section, key="acting"):
    train_ratio: float = param(2.0, "Training steps per environment step (the replay ratio).", low=0.0, low_open=True)
    min_replay_size: int = param(500, "Transitions collected before training starts.", low=1)
    temperatures: tuple[float, ...] = param((1.0, 0.25), "Visit-count temperatures for acting, in order.", low=0.0)
    temperature_env_steps: tuple[int, ...] = param(
        (0, 1_000), "Environment step at which each temperature starts.", low=0
    )
    temperature_moves: int = param(
        0,
        "Moves of each episode played at the scheduled temperature; later moves take the search's choice "
        "(most visited), as AlphaZero's self-play does after 30 moves of Go. 0 = every move at the temperature.",
        low=0,
    )
    explore_probability: float = param(
        0.0,
        "Temporally extended exploration (Dabney et al. 2021): at each step, an environment not already "
        "exploring starts, with this probability, repeating one random legal action (0 = off).",
        low=0.0,
        high=1.0,
    )
    explore_spread: float = param(
        0.0,
        "Spread the exploration probability over the acting environments as Ape-X does: environment i of B "
        "explores with p ** (1 + spread * i / (B - 1)), from p down to p ** (1 + spread) (0 = all use p).",
        low=0.0,
    )
    explore_max_repeat: int = param(
        8, "An exploratory action is repeated for a number of steps drawn uniformly from 1..this.", low=1
    )


@dataclass(frozen=True)
class EvalConfig(Section, key="eval"):
    interval: int = param(500, "Environment steps between periodic evaluations.", low=1)
    episodes: int = param(10, "Episodes in a periodic evaluation (no root noise, most-visited action).", low=1)
    confirm_episodes: int = param(
        100, "Episodes that must average solve_threshold before a run counts as solved.", low=1
    )
    final_episodes: int = param(100, "Episodes in the final evaluation reported at the end of training.", low=0)
    max_episode_return: float | None = param(
        None,
        "The largest return one episode can have (CartPole-v1: 500). When set, a confirmation stops as soon as "
        "its mean can no longer reach the solve threshold (what counts as solved is unchanged); games use 1, "
        "a win. None: confirmations play every episode.",
    )
    solve_threshold: float | None = param(
        None,
        "Mean return that counts as solved (default: the environment's reward threshold); for a two-player game the "
        "mean score against eval.opponent (win 1, draw 0.5, loss 0).",
    )
    opponent: str | None = param(
        None,
        "Two-player games: the opponent of periodic evaluations: random, winblock (wins when it can, else blocks "
        "an immediate win, else random), perfect (tic-tac-toe) or alphabetaN (Connect Four, N plies); default "
        "the game's first (perfect, alphabeta2). The final evaluation plays all of the game's opponents.",
    )
    opening_plies: int | None = param(
        None,
        "Two-player games: uniformly random legal moves, for both sides, that open every evaluation game before "
        "the agent and the opponent take over, so that a deterministic agent and opponent play more than one "
        "game (the agent still plays each side in half the games; an opening that ends the game is redrawn). "
        "None = the game's default: 2 for Connect Four, 0 for tic-tac-toe and other games.",
        low=0,
    )


@dataclass(frozen=True)
class RunConfig(Section, key="run"):
    seed: int = param(0, "Seed for every random generator of the run.", low=0)
    max_env_steps: int = param(30_000, "Training stops at this many environment steps.", low=1)
    max_minutes: float | None = param(
        None,
        "Training also stops after this many minutes of wall-clock (over every session of a resumed run, periodic "
        "evaluations included; the final evaluation follows). None: no time limit.",
        low=0.0,
        low_open=True,
    )
    stop_when_solved: bool = param(
        True,
        "The command line stops as soon as an evaluation confirms the solve threshold (it adds the callback "
        "StopTrainingOnRewardThreshold; MuZero.learn stops early only with that callback).",
    )
    threads: int = param(
        2,
        "torch.set_num_threads while training runs, restored afterwards.",
        low=1,
    )
    flush_denormal: bool = param(
        True,
        "torch.set_flush_denormal while training runs, restored afterwards (tiny weights decaying into "
        "denormals would slow CPU arithmetic).",
    )
    device: str = param(
        "auto",
        "Where the networks, the learner and the search's network calls run: 'auto' (CUDA when available, "
        "else CPU), 'cpu', 'cuda' or 'cuda:N'. The tree kernels always run on the CPU.",
    )
    track: bool = param(False, "Also log every metric to Weights & Biases (pip install 'muzero[wandb]').")
    wandb_project: str = param("muzero", "Weights & Biases project of a tracked run.")
    wandb_entity: str | None = param(None, "Weights & Biases entity (team or user) of a tracked run.")
    checkpoint_interval: int = param(2_000, "Environment steps between checkpoints (0 = only at the end).", low=0)
    log_interval_seconds: float = param(
        5.0, "Seconds between progress lines when output is not a terminal.", low=0.0, low_open=True
    )


@dataclass(frozen=True)
class DistributedConfig(Section, key="distributed"):
    backend: str = param(
        "inprocess",
        "Where self-play runs: 'inprocess' (one process takes turns acting, learning and evaluating) or 'ray' "
        "(self-play actors in other processes or machines, the learner and replay in this one; pip install "
        "'muzero[ray]'; muzero.distributed).",
        choices=("inprocess", "ray"),
    )
    actors: int = param(2, "ray: self-play actors, each with env.num_envs environments and its own search.", low=1)
    address: str | None = param(
        None,
        "ray: the cluster to join ('auto', or HOST:PORT of a head started with `ray start --head`); None "
        "starts a Ray instance on this machine for the run.",
    )
    actor_steps: int = param(
        2,
        "ray: steps of its env.num_envs environments an actor plays per collect (one chunk of trajectory; "
        "the learner trains actor_steps * env.num_envs * acting.train_ratio steps per chunk). Longer chunks "
        "cost fewer round trips but play with older weights: CartPole on 2 actors, seeds 0-4, solved 5 of 5 "
        "with 2 and 4 of 5 with 4 (docs/performance.md, Scaling out).",
        low=1,
    )
    actor_cpus: float = param(1.0, "ray: CPUs Ray reserves for each self-play actor.", low=0.0)
    max_policy_lag: int = param(
        200,
        "ray: most training steps the learner may take beyond the weights of the oldest collect in flight; past "
        "that it waits for data (a collect in flight still plays with older weights).",
        low=1,
    )
    evaluator: bool = param(
        True,
        "ray: periodic evaluations run in an evaluation actor while the learner trains (off: in the driver, "
        "stopping it).",
    )


@dataclass(frozen=True)
class Config(Root, key=""):
    discount: float = param(0.99, "Discount factor gamma of the returns the agent maximises.", low=0.0, high=1.0)
    env: EnvConfig = field(default_factory=EnvConfig, metadata={"help": "Environment."})
    network: NetworkConfig = field(default_factory=NetworkConfig, metadata={"help": "Networks."})
    search: SearchConfig = field(default_factory=SearchConfig, metadata={"help": "Monte Carlo tree search."})
    replay: ReplayConfig = field(default_factory=ReplayConfig, metadata={"help": "Replay buffer."})
    learner: LearnerConfig = field(default_factory=LearnerConfig, metadata={"help": "Training."})
    acting: ActingConfig = field(default_factory=ActingConfig, metadata={"help": "Self-play."})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "Evaluation."})
    run: RunConfig = field(default_factory=RunConfig, metadata={"help": "Run control."})
    distributed: DistributedConfig = field(
        default_factory=DistributedConfig, metadata={"help": "Self-play in other processes (Ray)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.acting.temperatures) != len(self.acting.temperature_env_steps):
            raise ConfigError("acting.temperatures and acting.temperature_env_steps must have the same length")
        if not self.acting.temperatures:
            raise ConfigError("acting.temperatures must name at least one temperature")
        if list(self.acting.temperature_env_steps) != sorted(self.acting.temperature_env_steps):
            raise ConfigError("acting.temperature_env_steps must be in increasing order")
        if self.replay.end_reservoir_share > 0 and not self.replay.end_reservoir:
            raise ConfigError("replay.end_reservoir_share needs an end reservoir: set replay.end_reservoir > 0")
