"""Replay: trajectories of every acting environment, the sum tree for prioritised sampling, K-step targets."""
