"""Element-wise work in two halves: every element done once, errors raised where they belong."""

from __future__ import annotations

import numpy as np
import pytest

from winback_cli.parallel import THREADS
from winback_cli.parts import MIN_PARALLEL, halves, in_parts

# With one core the parts simply run one after the other in the caller.
two_cores = pytest.mark.skipif(THREADS < 2, reason="helper threads only with two cores")


def test_small_arrays_stay_in_one_part_and_large_ones_split_in_two():
    assert halves(10) == [slice(0, 10)]
    assert halves(MIN_PARALLEL + 1) == [slice(0, 50_000), slice(50_000, MIN_PARALLEL + 1)]


def test_every_element_is_worked_on_once():
    values = np.arange(MIN_PARALLEL * 2, dtype=np.float64)
    out = np.zeros_like(values)

    def work(part: slice) -> None:
        np.add(out[part], np.exp(values[part] / 1e5), out=out[part])

    in_parts(work, halves(values.size))
    np.testing.assert_array_equal(out, np.exp(values / 1e5))


def test_an_error_in_the_other_thread_is_raised_here():
    def work(part: slice) -> None:
        if part.start:
            raise ValueError("second half")

    with pytest.raises(ValueError, match="second half"):
        in_parts(work, [slice(0, 1), slice(1, 2)])


@two_cores
def test_the_caller_works_on_the_first_part_and_helpers_are_kept_between_calls():
    import threading

    seen: list[tuple[int, int]] = []

    def work(part: slice) -> None:
        seen.append((part.start, threading.get_ident()))

    for _ in range(20):  # a fit calls it a few dozen times
        in_parts(work, [slice(0, 1), slice(1, 2)])
    assert {ident for start, ident in seen if start == 0} == {threading.get_ident()}
    helpers = {ident for start, ident in seen if start == 1}
    assert threading.get_ident() not in helpers
    assert len(helpers) <= 2  # the same threads each time, not fresh ones


@two_cores
def test_an_error_here_is_raised_only_once_the_other_parts_have_ended():
    import time

    started, ended = [], []

    def work(part: slice) -> None:
        if part.start == 0:
            time.sleep(0.05)  # the other part is under way by now
            raise ValueError("first half")
        started.append(part.start)
        time.sleep(0.2)
        ended.append(part.start)

    with pytest.raises(ValueError, match="first half"):
        in_parts(work, [slice(0, 1), slice(1, 2)])
    assert started == ended == [1]  # no thread still works on the caller's arrays
