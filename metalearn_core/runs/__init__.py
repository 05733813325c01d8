"""The machinery every run kind shares: settings, the run store and its files, and the reporter.

A run is queued in the store (:mod:`.store`) and streams what its kind reports (:mod:`.reporting`)
back to it. Launching and training a run sit above the kinds: the runner
(:mod:`metalearn_core.runner`) hands it to an executor (:mod:`metalearn_core.executors`), which
starts the worker (:mod:`metalearn_core.worker`) that looks its kind up in the registry
(:mod:`metalearn_core.kinds`).
"""
