"""Vectorised algorithms on a referral forest given as an array of parent indices.

Nothing here recurses or loops once per level: the cost is linear (plus a few sorts) and
does not depend on depth, so a 200,000-long referral chain costs what a bushy forest of
the same size costs.

The central object is a preorder (depth-first) numbering. With it every subtree is one
contiguous range of positions, so a subtree sum is a difference of two prefix sums and
"nearest marked ancestor" becomes nesting of ranges. The numbering comes from the Euler
tour of the forest (an *enter* and an *exit* event per member, linked in depth-first
order), ranked with a random ruling set: about one event in 64 is a ruler, all rulers
walk forward in lock step to the next ruler (so the number of numpy rounds is the
longest gap, about 64·ln n, and the total work is linear), the short list of rulers is
ranked in one sequential pass, and every other event's rank is its ruler's rank plus its
distance from it. Unreachable events mean the parent links contain a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ReferralCycleError

NO_PARENT = -1
_RULER_STRIDE = 64
# The ruling set only affects speed, never results; a fixed seed keeps runs repeatable.
_RULER_SEED = 20261123


class CycleInForestError(ReferralCycleError):
    """The parent array contains a cycle; ``nodes`` are the indices along one cycle."""

    def __init__(self, nodes: tuple[int, ...]) -> None:
        super().__init__(f"the members at indices {list(nodes)} form a referral cycle")
        self.nodes = nodes


@dataclass(frozen=True, eq=False)
class Forest:
    """A referral forest with its preorder numbering and its children grouped by parent.

    ``order[k]`` is the member at preorder position ``k``; ``tin[v]`` is the position of
    ``v``; the subtree of ``v`` (``v`` and all its descendants) occupies positions
    ``tin[v] .. tin[v] + size[v] - 1``. The children of ``p`` are
    ``children[child_start[p]:child_start[p + 1]]``.
    """

    parent: np.ndarray
    order: np.ndarray
    tin: np.ndarray
    size: np.ndarray
    children: np.ndarray
    child_start: np.ndarray

    @property
    def n(self) -> int:
        return int(self.parent.size)

    def child_counts(self) -> np.ndarray:
        return np.diff(self.child_start)

    def subtree_sums(self, weights: np.ndarray) -> np.ndarray:
        """Sum of ``weights`` over each member's subtree (the member included), exact in int64.

        The caller guarantees that the total of ``weights`` fits in int64; every partial
        sum is then exact because the weights are non-negative.
        """
        prefix = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(weights[self.order], out=prefix[1:])
        return prefix[self.tin + self.size] - prefix[self.tin]


def build_forest(parent: np.ndarray) -> Forest:
    """Number the forest given by ``parent`` (index of the parent, or -1) in preorder.

    Raises ``CycleInForestError`` when the parent links are not a forest.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = int(parent.size)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Forest(parent, empty, empty, empty, empty, np.zeros(1, dtype=np.int64))
    # Roots hang under a virtual super-root numbered n, so that they are siblings.
    key = np.where(parent < 0, n, parent)
    grouped = np.argsort(key)  # sibling order is irrelevant to every result
    counts = np.bincount(key, minlength=n + 1)
    start = np.zeros(n + 2, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    n_roots = int(counts[n])
    if n_roots == 0:
        raise CycleInForestError(find_cycle(parent, 0))
    slot = np.empty(n, dtype=np.int64)
    slot[grouped] = np.arange(n, dtype=np.int64)

    # Euler tour successors: event v enters member v, event n + v leaves it, 2n ends.
    end = 2 * n
    succ = np.empty(end, dtype=np.int64)
    first_child = grouped[np.minimum(start[:n], n - 1)]
    succ[:n] = np.where(counts[:n] > 0, first_child, np.arange(n, end, dtype=np.int64))
    next_slot = slot + 1
    next_sibling = grouped[np.minimum(next_slot, n - 1)]
    leave_to = np.where(parent >= 0, parent + n, end)
    succ[n:] = np.where(next_slot < start[key + 1], next_sibling, leave_to)
    del first_child, next_slot, next_sibling, leave_to, slot, key

    head = int(grouped[start[n]])
    rank = _list_ranks(succ, head)
    del succ
    enter_rank = rank[:n]
    if (enter_rank < 0).any():
        raise CycleInForestError(find_cycle(parent, int(np.flatnonzero(enter_rank < 0)[0])))
    size = (rank[n:] - enter_rank + 1) // 2
    tour = np.empty(end, dtype=np.int64)
    tour[rank] = np.arange(end, dtype=np.int64)
    del rank
    order = tour[tour < n]
    del tour
    tin = np.empty(n, dtype=np.int64)
    tin[order] = np.arange(n, dtype=np.int64)
    children = grouped[: n - n_roots]
    return Forest(parent, order, tin, size, children, start[: n + 1].copy())


def _list_ranks(succ: np.ndarray, head: int) -> np.ndarray:
    """Position of every event on the linked list that starts at ``head`` (-1 if not on it).

    ``succ[e]`` is the event after ``e``; ``len(succ)`` marks the end of the list.
    """
    m = int(succ.size)
    end = m
    rng = np.random.default_rng(_RULER_SEED)
    is_ruler = np.zeros(m + 1, dtype=bool)
    is_ruler[:m] = rng.integers(0, _RULER_STRIDE, size=m, dtype=np.uint16) == 0
    is_ruler[head] = True
    is_ruler[end] = True
    rulers = np.flatnonzero(is_ruler[:m])
    n_rulers = int(rulers.size)
    # owner[e]: the ruler whose stretch holds e (n_rulers = none); offset: distance from it
    owner = np.full(m, n_rulers, dtype=np.int64)
    offset = np.zeros(m, dtype=np.int64)
    owner[rulers] = np.arange(n_rulers, dtype=np.int64)
    ruler_next = np.empty(n_rulers, dtype=np.int64)
    ruler_gap = np.empty(n_rulers, dtype=np.int64)
    succ_ext = np.append(succ, end)
    walker = np.arange(n_rulers, dtype=np.int64)
    at = succ[rulers]
    distance = 1
    while walker.size:
        stop = is_ruler[at]
        if stop.any():
            ruler_next[walker[stop]] = at[stop]
            ruler_gap[walker[stop]] = distance
            go = ~stop
            walker = walker[go]
            at = at[go]
        owner[at] = walker
        offset[at] = distance
        at = succ_ext[at]
        distance += 1
    del succ_ext, is_ruler

    # The rulers form a short list of their own: rank it sequentially from the head.
    ruler_index = np.full(m + 1, -1, dtype=np.int64)
    ruler_index[rulers] = np.arange(n_rulers, dtype=np.int64)
    following = ruler_index[ruler_next].tolist()  # -1 after the last ruler
    gaps = ruler_gap.tolist()
    ruler_rank = [-1] * (n_rulers + 1)
    r = int(ruler_index[head])
    position = 0
    while r >= 0:
        ruler_rank[r] = position
        position += gaps[r]
        r = following[r]
    base = np.array(ruler_rank, dtype=np.int64)[owner]
    return np.where(base >= 0, base + offset, -1)


def find_cycle(parent: np.ndarray, start: int) -> tuple[int, ...]:
    """The members on the cycle reached by following parent links from ``start``.

    Only called on the error path, when a cycle is known to exist above ``start``.
    """
    seen: dict[int, int] = {}
    path: list[int] = []
    v = start
    while v >= 0 and v not in seen:
        seen[v] = len(path)
        path.append(v)
        v = int(parent[v])
    if v < 0:  # pragma: no cover - callers only ask when a cycle exists
        return ()
    return tuple(path[seen[v] :])


def largest_child(forest: Forest, value: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For each member, its child with the greatest ``value``; ties go to the lowest ``rank``.

    Returns -1 for members without children.
    """
    n = forest.n
    largest = np.full(n, NO_PARENT, dtype=np.int64)
    counts = forest.child_counts()
    parents = np.flatnonzero(counts)
    if parents.size == 0:
        return largest
    children = forest.children
    seg = forest.child_start[parents]
    child_value = value[children]
    best = np.maximum.reduceat(child_value, seg)
    contender = child_value == np.repeat(best, counts[parents])
    sentinel = np.iinfo(np.int64).max
    child_rank = np.where(contender, rank[children], sentinel)
    best_rank = np.minimum.reduceat(child_rank, seg)
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n, dtype=np.int64)
    largest[parents] = by_rank[best_rank]
    return largest


def marked_forest(forest: Forest, marked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The marked members in preorder, and for each its nearest *strict* marked ancestor.

    The ancestor is given as a position in the returned member array, or -1. Marked
    subtrees are nested ranges; a marked member's nesting depth is the number of marked
    ranges still open at its position, and its nearest marked ancestor is the last marked
    member one level shallower that starts before it (found by binary search on the
    (depth, position) keys).
    """
    position = np.flatnonzero(marked[forest.order])
    nodes = forest.order[position]
    k = int(position.size)
    up = np.full(k, -1, dtype=np.int64)
    if k == 0:
        return nodes, up
    ends = position + forest.size[nodes]
    closed_before = np.searchsorted(np.sort(ends), position, side="right")
    depth = np.arange(k, dtype=np.int64) - closed_before
    nested = depth > 0
    if not nested.any():
        return nodes, up
    stride = forest.n + 1
    key = depth * stride + position
    by_key = np.argsort(key)
    wanted = (depth[nested] - 1) * stride + position[nested]
    up[nested] = by_key[np.searchsorted(key[by_key], wanted) - 1]
    return nodes, up
