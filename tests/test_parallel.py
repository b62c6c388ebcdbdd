"""Slices and customer groups are worked on two at a time: the results must not notice.

`ordered_map` hands results back in the order of the items whatever order the
threads finish in; loading and scanning on two threads give exactly what one
thread gives, including where a later slice depends on what an earlier one
decided while both were running.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from winback_cli import parallel, slices
from winback_cli.errors import AmbiguousDateError
from winback_cli.load import load_orders
from winback_cli.order_rows import Decided
from winback_cli.parallel import OrderedPool, ordered_map
from winback_cli.rules import Rules

ROOT = Path(__file__).parent.parent
ORDER_FILES = sorted(ROOT.glob("tests/corpus/*/orders*.csv")) + sorted(
    ROOT.glob("examples/orders*.csv")
)
TODAY = dt.date(2025, 12, 1)


def test_results_come_in_the_order_of_the_items_not_of_finishing():
    first_may_finish = threading.Event()

    def job(item: int) -> int:
        if item == 0:
            first_may_finish.wait(timeout=5)  # the second item finishes first
        else:
            first_may_finish.set()
        return item * 10

    assert list(ordered_map(job, range(5), threads=2)) == [0, 10, 20, 30, 40]


def test_an_error_surfaces_in_its_place():
    def job(item: int) -> int:
        if item == 2:
            raise ValueError("item 2 is bad")
        return item

    results = ordered_map(job, range(4), threads=2)
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ValueError, match="item 2 is bad"):
        next(results)


def test_one_thread_runs_the_jobs_in_the_caller():
    caller = threading.get_ident()
    assert list(ordered_map(lambda _: threading.get_ident(), range(3), threads=1)) == [caller] * 3


def test_no_more_jobs_run_at_once_than_there_are_threads():
    running, most, lock = [0], [0], threading.Lock()

    def job(item: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return item

    assert list(ordered_map(job, range(12), threads=2)) == list(range(12))
    assert most[0] <= 2


def test_a_thread_done_early_starts_the_next_job_while_the_oldest_still_runs():
    third_started = threading.Event()

    def job(item: int) -> int:
        if item == 0:  # the oldest job runs until the third has started
            return int(third_started.wait(timeout=5))
        if item == 2:
            third_started.set()
        return item

    started = time.perf_counter()
    assert list(ordered_map(job, range(3), threads=2)) == [1, 1, 2]
    assert time.perf_counter() - started < 4  # not waited out


def test_leaving_early_waits_for_a_running_job():
    finished = []

    def slow(item: int) -> None:
        time.sleep(0.05)
        finished.append(item)

    with OrderedPool(2) as pool:
        pool.submit(slow, 1)
    assert finished == [1]  # no thread outlives the block that started it


@pytest.mark.parametrize("path", ORDER_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_two_threads_load_what_one_thread_loads(path, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_BYTES", max(64, path.stat().st_size // 30))
    monkeypatch.setattr(slices, "HEAD_BYTES", 64)
    outcomes = []
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "THREADS", threads)
        try:
            outcomes.append((load_orders([str(path)], Rules(), today=TODAY), None))
        except Exception as error:  # the same error both ways is the same outcome
            outcomes.append((None, str(error)))
    (one, one_error), (two, two_error) = outcomes
    assert two_error == one_error
    if one is not None:
        pd.testing.assert_frame_equal(two.frame, one.frame)
        pd.testing.assert_frame_equal(two.rejects, one.rejects)
        assert two.warnings == one.warnings
        assert two.rows_read == one.rows_read


def _two_rows_a_slice(tmp_path, monkeypatch, third: str, third_rows: int = 20) -> Path:
    """Orders read two rows a slice: ISO dates, then day-first slashed ones, then `third`."""
    rows = ["K1,2025-01-05,10"] * 2 + ["K1,25/01/2025,10"] * 2 + [f"K1,{third},10"] * third_rows
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,amount\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(slices, "SLICE_BYTES", 40)
    monkeypatch.setattr(slices, "HEAD_BYTES", 40)
    return path


def test_a_slice_checked_before_an_earlier_one_decided_is_checked_again(tmp_path, monkeypatch):
    # Slice 1 has ISO dates only; slice 2 shows slashed dates are day-first; slice 3
    # alone could not tell. On two threads, 2 and 3 start together; 3 must follow 2.
    path = _two_rows_a_slice(tmp_path, monkeypatch, "02/03/2025")
    months = {}
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "THREADS", threads)
        orders = load_orders([str(path)], Rules(), today=TODAY)
        months[threads] = orders.frame["order_date"].dt.month.tolist()
    assert months[2] == months[1] == [1] * 4 + [3] * 20


def test_a_slice_result_from_an_outdated_state_is_refused_only_if_it_had_slashed_dates():
    decided = Decided(decimal=".", day_first=True)
    before = Decided(decimal=".", day_first=None)
    iso_only = Decided(decimal=".", day_first=None, currencies={"EUR"})
    assert decided.take(before, iso_only)
    assert decided.day_first is True and decided.currencies == {"EUR"}
    slashed = Decided(decimal=".", day_first=False, slashed=True)
    assert not decided.take(before, slashed)
    assert decided.day_first is True
    assert decided.take(Decided(day_first=True), slashed)  # same start: its result stands
    assert decided.day_first is False


def test_slices_that_started_together_still_must_agree_on_slashed_dates(tmp_path, monkeypatch):
    path = _two_rows_a_slice(tmp_path, monkeypatch, "01/25/2025", third_rows=2)
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "THREADS", threads)
        with pytest.raises(AmbiguousDateError, match="slashed dates disagree"):
            load_orders([str(path)], Rules(), today=TODAY)
