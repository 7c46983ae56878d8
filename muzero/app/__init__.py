"""The application shell: the agent API, runs and their directories, checkpoints, the CLI, metrics, plots, rendering."""
