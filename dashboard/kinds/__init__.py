"""The app layer of each run kind, mirroring ``metalearn_core/kinds/``: one module per kind.

``dashboard/kinds/<kind>.py`` has the same shape for every kind:

- ``results(store, run)``: a finished run's panel (Train shows it, and Few-shot for its kind);
- ``meta_settings(store) -> {section: values}``: widgets under the Train page's meta network tab;
- ``training_settings(store) -> (training values, {section: values})``: the Training tab.

(A kind launched from its own page, as few-shot runs are, needs only ``results``.) The module is
found by the kind's name, so a new kind's views are a new module here and nothing else.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def views(kind: str) -> ModuleType:
    """The views module of ``kind`` (``dashboard.kinds.<kind>``)."""
    return importlib.import_module(f"{__name__}.{kind}")
