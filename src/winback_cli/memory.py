"""Give memory that a finished phase freed back to the system, so the next starts lower.

Reading ten million orders frees a gigabyte or more, but glibc's allocator
and Arrow's pool keep freed pages for reuse, and the process's resident
size (what a laptop's user sees, and what the benchmark's peak is) stays
high through the phases after it. Releasing them between phases costs a few
milliseconds and lowers the peak of the scan's later phases by a few hundred
megabytes. Where the calls do not exist (not glibc, no pyarrow) nothing happens.
"""

from __future__ import annotations

import ctypes
from contextlib import suppress


def release_free_memory() -> None:
    """Return freed but retained heap pages to the operating system, where possible."""
    with suppress(ImportError):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        ctypes.CDLL(None).malloc_trim(0)  # the C library the interpreter runs on
