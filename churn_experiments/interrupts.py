"""Ctrl-C and SIGTERM as one exception, so both unwind the same way and are named."""

from __future__ import annotations

import signal
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """A termination signal other than SIGINT, raised like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def raise_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Interrupted` (Python turns SIGINT into Ctrl-C)."""
    signal.signal(signal.SIGTERM, _raise)


def ignore_further() -> None:
    """Ignore SIGINT and SIGTERM while an interrupted command tidies up."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def signal_number(err: BaseException) -> int:
    """The signal behind a KeyboardInterrupt (SIGINT unless it is ``Interrupted``)."""
    return getattr(err, "signum", signal.SIGINT)


def signal_name(err: BaseException) -> str:
    """``SIGINT`` or ``SIGTERM``."""
    return signal.Signals(signal_number(err)).name


def exit_code(err: BaseException) -> int:
    """The shell's convention: 128 + the signal number (130 for Ctrl-C)."""
    return 128 + signal_number(err)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)
