"""spikesim's errors as Python exceptions, one per kind of the library's typed errors.

Every one is a :class:`SpikesimError` and also the built-in exception it is closest to, so that
``except ValueError`` catches a bad config and ``except OSError`` a file that cannot be read.
The CLI maps the same kinds to its exit codes (docs/architecture.md).
"""

import builtins


class SpikesimError(Exception):
    """Base of spikesim's errors. ``kind`` is the library's error kind."""

    kind = "internal"


class ConfigError(SpikesimError, ValueError):
    """A config key has a wrong type, an impossible value or is unknown (CLI exit code 2).

    ``key`` is the dotted key (``"population.exc.params.tau_m"``), ``value`` its value as
    written, ``unit`` its unit and ``reason`` why it is refused; each is ``None`` where the
    message is not about one key.
    """

    kind = "config"

    def __init__(self, message, key=None, value=None, unit=None, reason=None):
        super().__init__(message)
        self.key, self.value, self.unit, self.reason = key, value, unit, reason


class InputError(SpikesimError, OSError):
    """An input file is missing, unreadable or not spikesim's (CLI exit code 3)."""

    kind = "input"


class OutputError(SpikesimError, OSError):
    """The output cannot be created or written (CLI exit code 4)."""

    kind = "output"


class BackendError(SpikesimError, RuntimeError):
    """The requested backend or device cannot be used (CLI exit code 5)."""

    kind = "backend"


class NumericalError(SpikesimError, ArithmeticError):
    """A neuron's state became NaN or infinite; the file keeps what came before (exit code 6)."""

    kind = "numerical"


class OutOfMemoryError(SpikesimError, builtins.MemoryError):
    """The run needs more memory than is available (CLI exit code 7). Also ``spikesim.MemoryError``."""

    kind = "memory"


class InternalError(SpikesimError, RuntimeError):
    """A bug, or a failure of a library spikesim uses (CLI exit code 1)."""


class Interrupted(KeyboardInterrupt):
    """A run or sweep stopped by Ctrl-C (or SIGINT) after its current chunk, as the CLI's.

    ``result`` is the :class:`~spikesim.Result` of the file kept (marked interrupted; ``None`` for
    a sweep or when nothing had started), ``checkpoint`` the checkpoint written, from which
    ``spikesim.run(resume=checkpoint)`` continues the run (``None`` when none was written).
    """

    def __init__(self, message, result=None, checkpoint=None):
        super().__init__(message)
        self.result, self.checkpoint = result, checkpoint


_BY_KIND = {
    c.kind: c
    for c in (ConfigError, InputError, OutputError, BackendError, NumericalError, OutOfMemoryError)
}


def _make(kind, message, key, value, unit, reason):
    """The exception of a library error (called by the extension module)."""
    if kind == "config":
        return ConfigError(message, key or None, value or None, unit or None, reason or None)
    return _BY_KIND.get(kind, InternalError)(message)
