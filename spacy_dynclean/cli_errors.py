"""How a command ends when something goes wrong: one line on stderr that says
what to do, never a traceback (unless SPACY_DYNCLEAN_DEBUG=1), and an
interrupt that says truthfully what was written."""
import errno
import functools
import os
import signal
import sys
from typing import Any, Callable

import typer

from spacy_dynclean import outputs as outputs_module
from spacy_dynclean.outputs import Interrupted
from spacy_dynclean.util import DynCleanError


def fail(text: str, code: int = 1) -> None:
    typer.echo(f"✘ {' '.join(str(text).split())}", err=True)  # one line, never wrapped
    sys.exit(code)


SPACY_TRAINING = {"train_cli", "folds_cli"}


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(128 + signum)


def _interrupted_state() -> str:
    """What an interrupt outside the renames leaves: nothing, or outputs already complete."""
    if outputs_module.WRITTEN:
        return f"the outputs had been written: every output is new and complete ({outputs_module.WRITTEN[0]}, ...)"
    return "nothing was written"


def handle_errors(func: Callable) -> Callable:
    """One line for every error a user can cause; a traceback only with
    SPACY_DYNCLEAN_DEBUG=1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # a SIGTERM while the command loads or after its outputs are written ends it with a true line too
        # (the training commands keep spaCy's own handling: they write checkpoints outside a transaction)
        if func.__name__ not in SPACY_TRAINING:
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            return func(*args, **kwargs)
        except DynCleanError as e:
            fail(str(e))
        except SystemExit as e:
            if isinstance(e.code, int) and e.code > 128:  # SIGTERM / SIGINT during a write
                if getattr(e, "written", False):
                    fail(f"interrupted (signal {e.code - 128}) while the outputs were renamed into place: the "
                         "renames were finished first, every output is new and complete", e.code)
                fail(f"interrupted (signal {e.code - 128}): {_interrupted_state()}", e.code)
            raise
        except KeyboardInterrupt:
            fail(f"interrupted: {_interrupted_state()}", 130)
        except MemoryError:
            fail("out of memory: nothing was written")
        except OSError as e:
            if os.environ.get("SPACY_DYNCLEAN_DEBUG"):
                raise
            name = errno.errorcode.get(e.errno or 0, "")
            where = e.filename or "a file"
            fail(f"{where}: {e.strerror or e}" + (" (free some disk space)" if name == "ENOSPC" else ""))
        except Exception as e:
            if os.environ.get("SPACY_DYNCLEAN_DEBUG"):
                raise
            fail(f"unexpected error ({type(e).__name__}: {e}); run with SPACY_DYNCLEAN_DEBUG=1 for the traceback "
                 "and report it")

    return wrapper
