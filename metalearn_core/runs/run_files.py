"""Reading a run's result files back when they may be damaged.

A run's folder holds JSON files its worker wrote (``evaluation.json``, ``fewshot.json``, ...). A
disk that filled up, a copy cut short or a hand edit can leave one truncated, binary or of the
wrong shape. Every reader goes through :func:`read_run_json`: a missing file is ``None`` (the run
did not get that far), a damaged one raises :class:`DamagedFile`, whose message names the run and
the file, so a page shows it as one warning and goes on with the rest of the run, and the command
line prints it as a note.

Example:
    >>> from pathlib import Path
    >>> read_run_json(Path("/nowhere/7"), "evaluation.json") is None
    True
    >>> str(DamagedFile.of(Path("/home/runs/7"), "evaluation.json", "not valid JSON"))
    'run 7: evaluation.json is damaged (not valid JSON); the rest of the run is shown'
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

from metalearn_core.safe_input import InputError, read_json_file

MAX_RESULTS_BYTES = 16_000_000  # a run's results are at most a few MB
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a text", int: "a whole number", float: "a number"}


def run_label(folder: str | Path) -> str:
    """How a message names the run whose folder this is: "run 7" (the folder is named by the id)."""
    name = Path(folder).name
    return f"run {name}" if name.isascii() and name.isdigit() else f"the run in folder {name!r}"


class DamagedFile(ValueError):
    """A file in a run's folder cannot be read or is not what its run wrote; the message names the run
    and the file and says the rest of the run is shown."""

    @classmethod
    def of(cls, folder: str | Path, name: str, reason: str) -> DamagedFile:
        return cls(f"{run_label(folder)}: {name} is damaged ({reason}); the rest of the run is shown")


def _type_name(expected: type | tuple[type, ...]) -> str:
    kinds = [kind for kind in (expected if isinstance(expected, tuple) else (expected,)) if kind is not type(None)]
    return "a number" if float in kinds else " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds)


def is_number(value: Any) -> bool:
    """A real number, finite or not (not a bool, not a text)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_shape(data: Any, required: dict[str, type | tuple[type, ...]], where: str = "") -> str:
    """"" when ``data`` is an object holding every ``required`` key with its type, else the reason.
    ``float`` stands for any number; ``type(None)`` among the types lets the value be null."""
    if not isinstance(data, dict):
        return f"{where or 'the file'} is not a JSON object"
    for key, expected in required.items():
        name = f"{where}.{key}" if where else key
        if key not in data:
            return f"{name} is missing"
        value, kinds = data[key], expected if isinstance(expected, tuple) else (expected,)
        if value is None and type(None) in kinds:
            continue
        if not (is_number(value) if float in kinds else isinstance(value, kinds)):
            return f"{name} is not {_type_name(expected)}"
    return ""


def read_run_json(folder: str | Path, name: str, required: dict[str, type | tuple[type, ...]] | None = None,
                  max_bytes: int = MAX_RESULTS_BYTES) -> Any:
    """``folder/name`` parsed, or None when the file is not there.

    Raises DamagedFile (naming the run and the file) when it cannot be read, is not valid UTF-8 JSON,
    is larger than ``max_bytes`` or, with ``required``, is not an object holding those keys with those
    types (``float`` standing for any number).
    """
    path = Path(folder) / name
    if not path.exists():
        return None
    try:
        data = read_json_file(path, name, max_bytes=max_bytes)
    except InputError as error:
        raise DamagedFile.of(folder, name, _reason(str(error).removeprefix(f"{name}: "), max_bytes)) from None
    if required is not None and (reason := check_shape(data, required)):
        raise DamagedFile.of(folder, name, reason)
    return data


def _reason(message: str, max_bytes: int) -> str:
    """safe_input's message about a file, in a run file's terms (the parser's position is left out)."""
    if message.startswith("too large"):
        return f"larger than {max_bytes:,} bytes"
    if message.startswith("not valid JSON"):
        return "not valid JSON"
    if message.startswith("nested too deeply"):
        return f"not valid JSON: {message}"
    if message.startswith("not a text file"):
        return "not text: binary data"
    return message


def number_list(values: Any, low: float = -math.inf, high: float = math.inf, whole: bool = False) -> bool:
    """``values`` is a list of numbers within [low, high] (whole numbers when ``whole``)."""
    return isinstance(values, list) and all(
        is_number(value) and low <= value <= high and (not whole or float(value).is_integer()) for value in values)


# -- a run's rows in the store ----------------------------------------------------------------

def whole_number(value: Any) -> int | None:
    """A stored epoch as an int; None when the store holds something else (a text, a fraction)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return int(value) if isinstance(value, float) and value.is_integer() else None


def damaged_metric_row(row: dict[str, Any]) -> bool:
    """A metric row whose epoch is not a whole number or whose value is neither a number nor NULL."""
    value = row.get("value")
    return whole_number(row.get("epoch")) is None or (value is not None and not is_number(value))


def damaged_point_row(row: dict[str, Any]) -> bool:
    """An in-epoch point (``RunStore.points``) whose x is not a number or whose loss or accuracy is
    neither a number nor NULL."""
    return not is_number(row.get("x")) or any(row.get(key) is not None and not is_number(row.get(key))
                                              for key in ("loss", "accuracy"))


def metric_damage(rows_by_run: dict[int, list[dict[str, Any]]],
                  points_by_run: dict[int, list[dict[str, Any]]] | None = None) -> list[str]:
    """One message per run whose metric rows (``RunStore.metrics``, and its in-epoch ``points`` when
    given) hold something other than numbers, as a damaged or hand-edited database can: the tables
    and curves leave those rows out, and the pages and the command line say so with this message.

    Example:
        >>> metric_damage({7: [{"series": "train", "epoch": 1, "name": "loss", "value": "abc"}]})
        ['run 7: 1 metric row in the run store is damaged (not a number) and is left out; the rest of the run is shown']
    """
    messages = []
    points_by_run = points_by_run or {}
    for run_id in dict.fromkeys([*rows_by_run, *points_by_run]):
        count = (sum(damaged_metric_row(row) for row in rows_by_run.get(run_id, []))
                 + sum(damaged_point_row(row) for row in points_by_run.get(run_id, [])))
        if count:
            what = ("1 metric row in the run store is damaged (not a number) and is left out" if count == 1 else
                    f"{count:,} metric rows in the run store are damaged (not numbers) and are left out")
            messages.append(f"run {run_id}: {what}; the rest of the run is shown")
    return messages
