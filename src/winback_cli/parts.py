"""Element-wise array work in two halves side by side, for the model fits.

numpy releases the GIL in its element-wise loops, so two threads on the two
halves of a large array take about half the time on an idle second core.
Element-wise results do not depend on which half an element is in; sums are
left to the caller, over whole arrays, so they stay exactly as without parts.
"""

from __future__ import annotations

from collections.abc import Callable

from winback_cli.parallel import ordered_map

# Below this many elements a second thread costs more than it saves.
MIN_PARALLEL = 100_000


def halves(size: int) -> list[slice]:
    """`[0, size)` as one slice, or two about equal ones when `size` is large."""
    if size < MIN_PARALLEL:
        return [slice(0, size)]
    middle = size // 2
    return [slice(0, middle), slice(middle, size)]


def in_parts(work: Callable[[slice], None], parts: list[slice]) -> None:
    """`work(part)` for each part, side by side on the scan's threads, all finished.

    The first error (in part order) is raised here, after the other parts ended.
    """
    for _ in ordered_map(work, parts):
        pass
