"""Gymnasium environments: checks, space conversion and many copies stepping together."""
