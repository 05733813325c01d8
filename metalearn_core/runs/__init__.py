"""The machinery every run kind shares: settings, the run store, the runner and the worker process.

A run is queued in the store (:mod:`.store`), started in its own process by the runner
(:mod:`.runner`), trained by the worker (:mod:`.worker`), which looks its kind up in the registry
(:mod:`metalearn_core.kinds`) and streams what the kind reports (:mod:`.reporting`) back to the store.
"""
