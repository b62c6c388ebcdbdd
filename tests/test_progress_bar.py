"""The reading progress bar: on a terminal after a moment, never in a pipe."""

from __future__ import annotations

import io

from rich.console import Console

from winback_cli.progress_bar import ReadProgress


def test_bar_shows_bytes_rows_and_rate_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150)
    with ReadProgress(console, total_bytes=2_000_000, delay=0.0) as progress:
        progress(1_000_000, 20_000)
        progress(1_000_000, 20_000)
    text = out.getvalue()
    assert "40,000 rows" in text
    assert "rows/s" in text
    assert "2.0 MB" in text
    assert progress.bytes == 2_000_000 and progress.rows == 40_000


def test_no_bar_when_stderr_is_not_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with ReadProgress(console, total_bytes=100, delay=0.0) as progress:
        progress(100, 5)
    assert out.getvalue() == ""


def test_no_bar_for_a_read_that_is_over_in_a_moment():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True)
    with ReadProgress(console, total_bytes=100, delay=60.0) as progress:
        progress(100, 5)
    assert out.getvalue() == ""
