"""Training: acting with search, the learner, evaluation and the loop that composes them (no files, no terminal)."""
