"""The base run's diagram: its one network, input to output (see :mod:`metalearn_core.models.diagram`).

Example:
    >>> diagram(NetworkConfig(()), NetworkConfig(()), {}).chains[0].title
    'Base network'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metalearn_core.config import NetworkConfig
from metalearn_core.models.diagram import Diagram, network_chain


def diagram(base: NetworkConfig, meta: NetworkConfig, settings: Mapping[str, Any]) -> Diagram:
    """The ``RunKind.diagram`` hook: the base network alone (a base run has no meta network nor
    section)."""
    return Diagram((network_chain(base),))
