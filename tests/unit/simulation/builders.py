"""Shared helpers of the simulator tests."""

from __future__ import annotations

import numpy as np


def depths_by_walk(parent: np.ndarray) -> np.ndarray:
    """Depth of every member, the slow obvious way (referrers come before the members they refer)."""
    depth = np.zeros(parent.size, dtype=np.int64)
    for i, p in enumerate(parent.tolist()):
        if p >= 0:
            depth[i] = depth[p] + 1
    return depth
