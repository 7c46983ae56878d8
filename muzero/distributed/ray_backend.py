"""Self-play on Ray: actors play chunks of trajectory, the driver learns from them and owns the data.

The driver is the single-process ``Trainer`` with a different loop. Each of ``distributed.actors``
Ray actors holds a ``SelfPlayWorker`` (its own environments, batched search and CPU copy of the
networks) and plays ``distributed.actor_steps`` steps per collect. The driver keeps one collect in
flight per actor and, as each chunk arrives, writes it into its replay buffer (rings of its own per
actor), trains the steps the replay ratio owes, and sends the actor off again with the newest
weights: one ``ray.put`` per weights version, which every actor's next collect reads.

Back-pressure, so neither side runs away: an actor is sent off again only once the learner has
trained what the data already in replay owes (so the achieved replay ratio stays within one chunk
of ``acting.train_ratio`` whichever side is faster, and at most one chunk per actor is ever in
flight), and the learner stops short of ``distributed.max_policy_lag`` training steps beyond the
weights of the oldest collect in flight. Periodic evaluations run in an evaluation actor with the
weights of the moment, while the learner trains on.

Faults: actors restart (``max_restarts=-1``). A collect whose actor died returns nothing; the
episodes it was playing are closed in replay as cut off, and the actor, restarted by Ray, is sent
a new incarnation number (its environments are reseeded) and the newest weights. Nothing in replay
is lost, because replay never leaves the driver. The driver itself resumes from its checkpoints.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from muzero.config import Config
from muzero.errors import UserError
from muzero.training.evaluation import EvalResult, StopBelow, evaluate
from muzero.training.planning import build_model
from muzero.training.selfplay import Chunk, SelfPlayWorker
from muzero.training.trainer import Trainer


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError("the Ray backend needs Ray: pip install 'muzero[ray]' (or pip install ray)") from None
    return ray


class RemoteWorker:
    """The body of one self-play Ray actor: a ``SelfPlayWorker``, rebuilt for each incarnation."""

    def __init__(self, config: Config, index: int, env_factory: Any = None) -> None:
        self.config, self.index, self.env_factory = config, index, env_factory
        self.worker: SelfPlayWorker | None = None
        self.incarnation = -1

    def collect(
        self, incarnation: int, weights: list[Any], version: int, steps: int, temperature: float
    ) -> tuple[int, Chunk]:
        """(this process's id, the chunk). ``weights`` is ``[ObjectRef]`` (in a list, so Ray hands over the
        reference and the actor fetches the weights only when their version is new to it)."""
        if self.worker is None or incarnation != self.incarnation:
            if self.worker is not None:
                self.worker.close()
            self.worker = SelfPlayWorker(self.config, self.index, incarnation, self.env_factory)
            self.incarnation = incarnation
        if version != self.worker.weights_version:
            import ray

            self.worker.set_weights(version, ray.get(weights[0]))
        return os.getpid(), self.worker.collect(steps, temperature)

    def pid(self) -> int:
        return os.getpid()


class RemoteEvaluator:
    """The body of the evaluation actor: greedy episodes with given weights, as ``Trainer.evaluate`` plays them."""

    def __init__(self, config: Config, env_factory: Any = None) -> None:
        from muzero.envs.batch import EnvSource

        self.config = config
        self.source = EnvSource.from_config(config.env, env_factory)
        spec = self.source.spec()
        device = torch.device("cpu")
        self.model = build_model(config, spec.observation_space, spec.num_actions, spec.two_player, device)
        self.version = -1

    def evaluate(
        self, weights: list[Any], version: int, episodes: int, seed: int, stop_below: StopBelow | None
    ) -> EvalResult:
        if version != self.version:
            import ray

            self.model.network.load_state_dict(ray.get(weights[0]))
            self.version = version
        torch.set_num_threads(1)
        return evaluate(
            self.model,
            self.source,
            episodes,
            seed,
            self.config.search,
            opponent=self.config.eval.opponent,
            stop_below=stop_below,
            opening_plies=self.config.eval.opening_plies,
        )


@dataclass
class DistributedStats:
    """What the summary and the progress report of a Ray run add: how the two sides kept pace."""

    actors: int = 0
    chunks: int = 0
    actor_restarts: int = 0
    chunks_lost: int = 0
    policy_lag_sum: int = 0  # training steps between a chunk's weights and the learner's, summed over chunks
    policy_lag_max: int = 0
    learner_wait_seconds: float = 0.0  # the driver waited for a chunk with nothing left to train
    weight_versions_published: int = 0
    env_steps_owing: int = 0  # env steps that owed training (those collected once replay held min_replay_size)
    actor_env_steps: list[int] = field(default_factory=list)  # per actor
    actor_seconds: list[float] = field(default_factory=list)  # per actor, time spent playing

    def summary(self, counters: Any, train_ratio: float) -> dict[str, Any]:
        learning_seconds = max(counters.timers.get("learning", 0.0), 1e-9)
        return {
            "backend": "ray",
            "actors": self.actors,
            "replay_ratio_target": train_ratio,
            "replay_ratio_achieved": round(counters.train_steps / max(self.env_steps_owing, 1), 4),
            "policy_lag_mean": round(self.policy_lag_sum / max(self.chunks, 1), 1),
            "policy_lag_max": self.policy_lag_max,
            "actor_env_steps_per_second": [
                round(steps / seconds, 1) if seconds else 0.0
                for steps, seconds in zip(self.actor_env_steps, self.actor_seconds, strict=True)
            ],
            "learner_steps_per_second": round(counters.train_steps / learning_seconds, 1),
            "learner_wait_seconds": round(self.learner_wait_seconds, 2),
            "chunks": self.chunks,
            "chunks_lost": self.chunks_lost,
            "actor_restarts": self.actor_restarts,
            "weight_versions_published": self.weight_versions_published,
        }


class RayTrainer(Trainer):
    """``Trainer`` whose self-play runs in ``distributed.actors`` Ray actors (see the module's doc)."""

    def __init__(self, config: Config, observers: list | None = None, env_factory: Any = None) -> None:
        self.ray = require_ray()
        super().__init__(config, observers, env_factory)
        self.env_factory = env_factory
        self.stats = DistributedStats(actors=config.distributed.actors)
        self.stats.actor_env_steps = [0] * config.distributed.actors
        self.stats.actor_seconds = [0.0] * config.distributed.actors
        self.counters.timers.setdefault("waiting", 0.0)
        self.pool: ActorPool | None = None  # while the loop runs
        self.confirmed_weights: Any = None  # the weights a confirmation just solved with, until the iteration ends

    def replay_rings(self) -> int:
        return self.config.distributed.actors * self.config.env.num_envs

    def learner_threads(self) -> int:
        """``run.threads``, but on a Ray instance of this machine only the cores the actors leave (at least one):
        Ray runs actors at a lower priority, so a driver with more threads than free cores starves them."""
        d = self.config.distributed
        if d.address is not None:
            return self.config.run.threads
        free = (os.cpu_count() or 1) - int(np.ceil(d.actors * d.actor_cpus))
        return max(1, min(self.config.run.threads, free))

    def backend_summary(self) -> dict[str, Any] | None:
        return self.stats.summary(self.counters, self.config.acting.train_ratio)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"distributed_stats": asdict(self.stats)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.counters.timers.setdefault("waiting", 0.0)
        saved = state.get("distributed_stats")
        if saved is not None and len(saved.get("actor_env_steps", [])) == self.config.distributed.actors:
            self.stats = DistributedStats(**saved)

    # -- the loop ------------------------------------------------------------------------------------------------

    def loop(self, budget: int) -> None:
        with ActorPool(self) as pool:
            self.pool = pool
            try:
                pool.start(self.temperature())
                while self.keep_going(budget):
                    self.ray_iteration(pool, budget)
                pool.finish_evaluation(self, wait=self.stop_reason != "interrupted")
                if self.confirmed_weights is not None:  # a solve confirmed after the last iteration
                    self.end_iteration()
            finally:
                self.pool = None

    def ray_iteration(self, pool: ActorPool, budget: int) -> None:
        c, stats = self.counters, self.stats
        started = time.perf_counter()
        index, chunk = pool.next_chunk()
        waited = time.perf_counter() - started
        c.timers["waiting"] += waited
        stats.learner_wait_seconds += waited
        if chunk is None:  # the actor died: Ray restarts it; its running episodes end here
            if index not in pool.restarting:  # not a collect sent while it was still restarting
                stats.actor_restarts += 1
                stats.chunks_lost += 1
                self.replay.close_running_episodes(pool.rings_of(index))
                if self.announce is not None:
                    self.announce(f"self-play actor {index} was lost: Ray restarts it, and the run goes on")
            pool.restart(index)
        else:
            pool.restarting.discard(index)
            started = time.perf_counter()
            chunk.write_into(self.replay, pool.first_ring(index))
            c.env_steps += chunk.env_steps
            stats.chunks += 1
            lag = max(c.train_steps - chunk.weights_version, 0)
            stats.policy_lag_sum += lag
            stats.policy_lag_max = max(stats.policy_lag_max, lag)
            stats.actor_env_steps[index] += chunk.env_steps
            stats.actor_seconds[index] += chunk.seconds
            c.timers["acting"] += time.perf_counter() - started
            self.record_episodes(chunk.episode_returns, chunk.episode_lengths)
            if self.replay.rows_added >= self.config.acting.min_replay_size:
                c.owed_train_steps += chunk.env_steps * self.config.acting.train_ratio
                stats.env_steps_owing += chunk.env_steps
            pool.idle.append(index)
        self.learn_what_is_owed(pool)
        if c.env_steps < budget:
            pool.send_idle(self.temperature(), may_send=c.owed_train_steps < 1.0)
        self.evaluate_when_due(pool)
        self.end_iteration()

    def end_iteration(self) -> None:
        """Tell the observers, then, if one asked to stop in the iteration a confirmation solved the run, keep the
        weights that were confirmed: the learner trained on while the confirmation ran, and one process, which
        stops at once, ends with the confirmed weights (its final evaluation and saved agent are those)."""
        self.counters.wall_seconds = self.elapsed()
        for observer in self.observers:
            observer.on_iteration(self)
        if self.confirmed_weights is not None and self.stop_reason is not None:
            self.network.load_state_dict(self.ray.get(self.confirmed_weights))
        self.confirmed_weights = None

    def learn_what_is_owed(self, pool: ActorPool) -> None:
        """Train the owed steps, stopping where the oldest collect in flight would lag too far behind."""
        c = self.counters
        started = time.perf_counter()
        limit = self.config.distributed.max_policy_lag
        while c.owed_train_steps >= 1.0 and c.train_steps - pool.oldest_version_in_flight(c.train_steps) < limit:
            self.train_step()
            c.owed_train_steps -= 1.0
        c.timers["learning"] += time.perf_counter() - started

    def evaluate_when_due(self, pool: ActorPool) -> None:
        c = self.counters
        started = time.perf_counter()
        if not self.config.distributed.evaluator:
            if c.env_steps >= c.next_eval:
                c.next_eval += self.config.eval.interval
                self.periodic_evaluation()
        else:
            pool.collect_evaluation(self)
            if c.env_steps >= c.next_eval and not pool.evaluating():
                while c.next_eval <= c.env_steps:  # evaluations due while one ran are skipped, not queued
                    c.next_eval += self.config.eval.interval
                pool.evaluate(self, "periodic", self.config.eval.episodes, None)
        c.timers["evaluation"] += time.perf_counter() - started

    def on_evaluation_result(self, pool: ActorPool, kind: str, result: EvalResult, at: tuple[int, float]) -> None:
        """A remote evaluation came back: report it, and confirm (or settle) a solve as ``periodic_evaluation``."""
        self._notify_eval(result, kind)
        threshold = self.solve_threshold
        if kind == "periodic":
            self.counters.last_eval_mean = result.mean
            if threshold is not None and result.mean >= threshold and not self.counters.solved:
                # The confirmation plays the very weights the periodic evaluation played, as in one process.
                episodes = self.config.eval.confirm_episodes
                pool.evaluate(self, "confirm", episodes, self.confirmation_stop(threshold), again=True)
        elif kind == "confirm":
            was_solved = self.counters.solved
            self.settle_confirmation(result, *at)
            if self.counters.solved and not was_solved:
                self.confirmed_weights = pool.evaluated.weights


RESTART_POLL_SECONDS = 0.5  # between collects sent to an actor that Ray is restarting


class PendingEvaluation(NamedTuple):
    ref: Any  # the remote evaluation's result
    kind: str  # "periodic" or "confirm"
    weights: Any  # the ObjectRef of the weights it plays
    version: int
    at: tuple[int, float]  # env steps and seconds of the run when those weights were published


class ActorPool:
    """The Ray side of a ``RayTrainer``: the actors, the collects in flight, the weights, the evaluator."""

    def __init__(self, trainer: RayTrainer) -> None:
        self.trainer = trainer
        self.ray = trainer.ray
        self.config = trainer.config
        self.started_ray = False
        self.actors: list[Any] = []
        self.incarnation = [0] * self.config.distributed.actors
        self.in_flight: dict[Any, tuple[int, int]] = {}  # collect ref -> (actor, weights version)
        self.idle: list[int] = []
        self.restarting: set[int] = set()  # lost actors whose first collect since has not come back
        self.pid_of: dict[int, int] = {}  # the process that returned each actor's last chunk
        self.weights_ref: Any = None
        self.weights_version = -1
        self.evaluator: Any = None
        self.evaluation: PendingEvaluation | None = None
        self.evaluated: PendingEvaluation | None = None  # the last one that came back

    def __enter__(self) -> ActorPool:
        ray, d = self.ray, self.config.distributed
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": d.address, "include_dashboard": False, "log_to_driver": True}
            if d.address is None:  # a local instance for this run: room for every actor and the evaluator
                options["num_cpus"] = max(os.cpu_count() or 1, int(np.ceil(d.actors * d.actor_cpus)) + 1)
            ray.init(**options)
            self.started_ray = True
        remote = ray.remote(num_cpus=d.actor_cpus, max_restarts=-1, max_task_retries=0)(RemoteWorker)
        self.actors = [remote.remote(self.config, k, self.trainer.env_factory) for k in range(d.actors)]
        if d.evaluator:
            evaluator = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(RemoteEvaluator)
            self.evaluator = evaluator.remote(self.config, self.trainer.env_factory)
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in [*self.actors, self.evaluator]:
            if handle is not None:
                self.ray.kill(handle, no_restart=True)
        self.actors, self.in_flight = [], {}
        if self.started_ray:
            self.ray.shutdown()

    def first_ring(self, index: int) -> int:
        return index * self.config.env.num_envs

    def rings_of(self, index: int) -> np.ndarray:
        return self.first_ring(index) + np.arange(self.config.env.num_envs)

    def pids(self, timeout: float | None = None) -> list[int]:
        """The process id of every self-play actor (waits for one being restarted, up to ``timeout``)."""
        return self.ray.get([actor.pid.remote() for actor in self.actors], timeout=timeout)

    def start(self, temperature: float) -> None:
        self.idle = list(range(len(self.actors)))
        self.send_idle(temperature, may_send=True)

    def publish(self) -> None:
        """Put the learner's weights in the object store once per new version."""
        version = self.trainer.counters.train_steps
        if version != self.weights_version:
            state = {k: v.detach().cpu() for k, v in self.trainer.network.state_dict().items()}
            self.weights_ref = self.ray.put(state)
            self.weights_version = version
            self.trainer.stats.weight_versions_published += 1

    def send_idle(self, temperature: float, may_send: bool) -> None:
        """Send the idle actors off with the newest weights, if the learner has caught up (``may_send``)."""
        if not self.idle or not may_send:
            return
        self.publish()
        steps = self.config.distributed.actor_steps
        for index in self.idle:
            ref = self.actors[index].collect.remote(
                self.incarnation[index], [self.weights_ref], self.weights_version, steps, temperature
            )
            self.in_flight[ref] = (index, self.weights_version)
        self.idle = []

    def restart(self, index: int) -> None:
        """A lost actor's next collect, with a new incarnation. Collects sent while Ray is still restarting the
        actor fail at once (``ActorUnavailableError``): those are sent again after a pause, same incarnation."""
        if index in self.restarting:
            time.sleep(RESTART_POLL_SECONDS)
        else:
            self.restarting.add(index)
            self.incarnation[index] += 1
        self.idle.append(index)

    def oldest_version_in_flight(self, default: int) -> int:
        return min((version for _, version in self.in_flight.values()), default=default)

    def next_chunk(self) -> tuple[int, Chunk | None]:
        """Wait for any collect; (actor, chunk), or (actor, None) if the actor died while playing it."""
        if not self.in_flight:
            raise RuntimeError("no collect in flight (the learner would wait forever)")
        (ref,), _ = self.ray.wait(list(self.in_flight), num_returns=1)
        index, _ = self.in_flight.pop(ref)
        try:
            pid, chunk = self.ray.get(ref)
        except self.ray.exceptions.RayActorError:
            return index, None
        if self.pid_of.setdefault(index, pid) != pid:
            # Ray restarted the actor between two collects (it died idle): its episodes were cut off all the same.
            self.pid_of[index] = pid
            return index, None
        return index, chunk

    # -- evaluation -------------------------------------------------------------------------------------------------

    def evaluating(self) -> bool:
        return self.evaluation is not None

    def evaluate(
        self, trainer: RayTrainer, kind: str, episodes: int, stop_below: StopBelow | None, again: bool = False
    ) -> None:
        """Start a remote evaluation of the newest weights, or (``again``) of those the last one played."""
        if again and self.evaluated is not None:
            weights, version, at = self.evaluated.weights, self.evaluated.version, self.evaluated.at
        else:
            self.publish()
            weights, version = self.weights_ref, self.weights_version
            at = (trainer.counters.env_steps, trainer.elapsed())
        seed = trainer.generators.eval_seed + trainer.claim_eval_seeds(episodes)
        ref = self.evaluator.evaluate.remote([weights], version, episodes, seed, stop_below)
        self.evaluation = PendingEvaluation(ref, kind, weights, version, at)

    def collect_evaluation(self, trainer: RayTrainer, timeout: float | None = 0.0) -> None:
        """Hand a finished remote evaluation (if any) to the trainer."""
        pending = self.evaluation
        if pending is None:
            return
        ready, _ = self.ray.wait([pending.ref], timeout=timeout)
        if not ready:
            return
        self.evaluation = None
        try:
            result = self.ray.get(pending.ref)
        except self.ray.exceptions.RayActorError:  # the evaluator died: the next due evaluation runs anew
            return
        self.evaluated = pending
        trainer.on_evaluation_result(self, pending.kind, result, pending.at)

    def finish_evaluation(self, trainer: RayTrainer, wait: bool) -> None:
        """At the end of the loop: wait for the evaluation in flight (and a confirmation it starts), or drop it."""
        while wait and self.evaluation is not None:
            self.collect_evaluation(trainer, timeout=None)
        self.evaluation = None
