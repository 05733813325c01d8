"""A finished stacked run's results: its test-set evaluation and the files its stack is made of.

The worker wrote the meta network's evaluation (``evaluation.json``, shaped as a base run's, see
:func:`metalearn_core.kinds.base.results.read_results`); the run wrote ``stack.json``, naming its
learners' files (``learner-<i>.keras`` or ``.joblib``), its meta network's file and what the meta
network reads of the learners. Loading them back as one digit predictor is
:mod:`metalearn_core.kinds.stacked.predictor`.

Example:
    >>> read_results(Path("/nowhere")) is None
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metalearn_core.kinds.base import results as base_results
from metalearn_core.runs.run_files import DamagedFile, read_run_json

STACK_FILE = "stack.json"


def read_results(folder: Path) -> dict[str, Any] | None:
    """The run's evaluation (confusion matrix, per-class metrics, misclassified indices) with its
    ``stack.json`` as ``"stack"`` (``{"learners": [file, ...], "meta": file, "meta_input": ...}``, None
    when the file is missing), or None when the run saved no evaluation (it did not complete).

    Raises DamagedFile, naming the run and the file, when either file is unreadable or not what the
    run wrote.
    """
    evaluation = base_results.read_results(folder)
    if evaluation is None:
        return None
    stack = read_run_json(folder, STACK_FILE, {"learners": list, "meta": str, "meta_input": str})
    if stack is not None and not all(isinstance(name, str) for name in stack["learners"]):
        raise DamagedFile.of(folder, STACK_FILE, "its learners are not a list of file names")
    return {**evaluation, "stack": stack}
