"""Errors that mean "the user asked for something we can't do": the CLI prints them and exits with status 2."""


class UserError(Exception):
    """A problem with the user's input, reported as a one-line message rather than a traceback."""


class ConfigError(UserError):
    """An unknown, misspelled or out-of-range configuration value."""


class EnvironmentNotSupported(UserError):
    """An environment id that doesn't exist, or whose spaces this implementation can't handle."""


class CheckpointError(UserError):
    """A missing, corrupt, truncated or mismatched checkpoint or run directory."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (a full disk); the previous one is intact. The CLI exits with 74."""

    exit_code = 74  # EX_IOERR (sysexits.h)
