"""The optional Ray layer: self-play actors in other processes (or machines) around the same core objects.

``RayTrainer`` is the single-process ``Trainer`` with its acting moved into Ray actors, each a
``muzero.training.selfplay.SelfPlayWorker``; the learner, the replay buffer, priorities,
Reanalyse and checkpoints stay in the driver. Nothing else in the package imports this one but
``muzero.app.runner.make_trainer``, and only for a Ray run: importing ``muzero`` never imports Ray
(``pip install 'muzero[ray]'`` adds it).
"""

from muzero.distributed.ray_backend import RayTrainer, require_ray

__all__ = ["RayTrainer", "require_ray"]
