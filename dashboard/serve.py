"""Serve the dashboard: start a warm worker, then become the Streamlit server (the same process).

    python -m dashboard.serve [streamlit options]     # what `make run` does

A warm worker imports TensorFlow and loads MNIST (about 5 s on two cores). Started here, before
the server is even listening, it is ready by the time a new user has opened a page and clicked
Launch. The worker leaves with the process that started it; ``os.execv`` keeps the process id, so
that process is the server. Pages also start one when none is waiting
(:func:`dashboard.common.keep_warm_worker`), so ``streamlit run app.py`` works as well, a few
seconds later.

Light: imports no TensorFlow, Keras or pandas; TensorFlow lives in the worker processes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from metalearn_core import runner
from metalearn_core.runs.database import DatabaseError
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore

APP = Path(__file__).resolve().parent.parent / "app.py"


def start_warm_worker() -> None:
    """Start the warm worker if the data home allows it; otherwise say why on stderr and go on: the
    app still starts, and its pages say what is wrong (a damaged database, a read-only home...)."""
    try:
        settings = get_settings()
        store = RunStore(settings.home)
        if store.read_only:
            print(f"warm worker not started: {store.read_only_reason}", file=sys.stderr)
            return
        runner.ensure_spare(store, settings.mnist_path)
    except (OSError, ValueError, DatabaseError) as error:
        print(f"warm worker not started: {error}", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - only a head start is lost; the server must start regardless
        print(f"warm worker not started: {type(error).__name__}: {error}", file=sys.stderr)


def main(argv: list[str]) -> None:
    start_warm_worker()
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(APP), *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
