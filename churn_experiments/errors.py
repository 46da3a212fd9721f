"""Exceptions that carry a message meant for the user, not a traceback."""


class ChurnExperimentsError(Exception):
    """Base class: the message says what is wrong and where."""


class ConfigError(ChurnExperimentsError, ValueError):
    """A config file breaks its schema (names the file, key and allowed values)."""


class DataContractError(ChurnExperimentsError, ValueError):
    """The data does not match the dataset's declared columns, types or categories."""


class SweepFailedError(ChurnExperimentsError, RuntimeError):
    """One or more jobs of a sweep failed; the others were recorded."""


class TrackingStoreError(ChurnExperimentsError, RuntimeError):
    """The tracking store cannot be reached, or is not a complete MLflow store."""
