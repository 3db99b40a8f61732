"""Errors raised by the dataset layer."""


class DatasetUnavailableError(RuntimeError):
    """A dataset cannot be obtained on this machine.

    The message says what failed and how to get the data by hand.
    """
