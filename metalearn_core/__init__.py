"""metalearn_core: everything the meta-learning lab computes, free of any UI (never imports streamlit).

Layers, bottom to top; a module imports only from its own layer or lower ones (docs/architecture.md):

- core: ``safe_input``, ``config``, ``style``, ``data``, ``models`` and ``runs`` (the store and its database,
  run folders, the runner and its executors);
- kinds: ``kinds`` (the registry, :class:`RunKind`, and one folder per run kind holding all of that kind);
- lab: ``worker``, ``predictor``, ``presets``, ``analysis``, ``figures``, ``inside``, ``sweeps``,
  ``classroom``;
- entry: ``session``, ``cli`` (``python -m metalearn_core``) and this package face.

The app (``dashboard``, then ``pages`` and ``app.py``) sits on top.
"""

__version__ = "0.1.0"

# The kinds register themselves with the run config (metalearn_core.config.register_kind) when their
# registry is imported: importing it here means any part of the package reads every run's config.
from metalearn_core import kinds as kinds
