"""Reuse freed memory within a phase, and give it back to the system between phases.

Reading ten million orders frees a gigabyte or more, but glibc's allocator
and Arrow's pool keep freed pages for reuse, and the process's resident
size (what a laptop's user sees, and what the benchmark's peak is) stays
high through the phases after it. Releasing them between phases costs a few
milliseconds and lowers the peak of the scan's later phases by a few hundred
megabytes. Within a phase the opposite holds: memory handed back is handed out
again as fresh pages, which the kernel must zero one by one, so `reuse_freed_memory`
asks glibc to keep what it frees. Where the calls do not exist (not glibc, no
pyarrow) nothing happens.
"""

from __future__ import annotations

import ctypes
from contextlib import suppress

# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
KEEP_BLOCKS_BELOW = 32 << 20  # glibc's upper limit for the mmap threshold
KEEP_FREE_TOP = 1 << 30


def reuse_freed_memory() -> bool:
    """Have glibc reuse the memory it frees rather than hand it to the system at once.

    By default each thread gets a heap of its own, dropped once it is empty,
    and a block above 128 KB (more, once such blocks have been freed) is
    mapped apart and unmapped when freed: a ten million order scan maps and
    unmaps some 7 GB for a 1.5 GB peak, and the kernel zeroes every fresh
    page. With one heap for all threads, blocks up to 32 MB taken from it and
    up to a gigabyte kept free at its top, such a scan took 0.2-1.5 s less
    system time in each of five alternating pairs, and peaked lower in four.
    `release_free_memory` still hands memory back between phases. Call this
    before threads start. False where the C library has no `mallopt` (macOS,
    Windows) or refuses a setting.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    settings = (
        (M_ARENA_MAX, 1),
        (M_MMAP_THRESHOLD, KEEP_BLOCKS_BELOW),
        (M_TRIM_THRESHOLD, KEEP_FREE_TOP),
    )
    return all(mallopt(option, value) == 1 for option, value in settings)


def release_free_memory() -> None:
    """Return freed but retained heap pages to the operating system, where possible."""
    with suppress(ImportError):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        ctypes.CDLL(None).malloc_trim(0)  # the C library the interpreter runs on
