"""Freed memory is handed back between phases where the C library can, and ignored elsewhere."""

from __future__ import annotations

from unittest.mock import MagicMock, patch

from winback_cli import memory


def test_glibc_is_asked_to_trim_its_heap():
    libc = MagicMock()
    with patch.object(memory.ctypes, "CDLL", return_value=libc) as load:
        memory.release_free_memory()
    load.assert_called_once_with(None)
    libc.malloc_trim.assert_called_once_with(0)


def test_a_c_library_without_malloc_trim_is_no_error():
    without = MagicMock(spec=[])  # attribute lookup fails, as on macOS
    with patch.object(memory.ctypes, "CDLL", return_value=without):
        memory.release_free_memory()
    with patch.object(memory.ctypes, "CDLL", side_effect=OSError("no libc")):
        memory.release_free_memory()


def test_arrow_returns_its_unused_memory():
    pool = MagicMock()
    with patch("pyarrow.default_memory_pool", return_value=pool):
        memory.release_free_memory()
    pool.release_unused.assert_called_once_with()
