"""Reuse freed memory within a phase, and give it back to the system between phases.

Reading ten million orders frees a gigabyte or more, but glibc's allocator
and Arrow's pool keep freed pages for reuse, and the process's resident
size (what a laptop's user sees, and what the benchmark's peak is) stays
high through the phases after it. Releasing them between phases costs a few
milliseconds and lowers the peak of the scan's later phases by a few hundred
megabytes. Within a phase the opposite holds: memory handed back is handed out
again as fresh pages, which the kernel must zero one by one, so `reuse_freed_memory`
asks glibc to keep what it frees. On a virtual machine whose host takes back
freed memory (`freed_pages_go_to_host`), fresh huge pages are slow to come back,
and `no_huge_pages` has Linux hand out ordinary ones. Where the calls do not
exist (not glibc, not Linux, no pyarrow) nothing happens.
"""

from __future__ import annotations

import ctypes
from contextlib import suppress
from pathlib import Path

# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
KEEP_BLOCKS_BELOW = 32 << 20  # glibc's upper limit for the mmap threshold
KEEP_FREE_TOP = 1 << 30
PR_SET_THP_DISABLE = 41  # prctl(2), from linux/prctl.h
BALLOONS = Path("/sys/bus/virtio/drivers/virtio_balloon")
VIRTIO_BALLOON_F_REPORTING = 5  # feature bit, from linux/virtio_balloon.h


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


def freed_pages_go_to_host(balloons: Path = BALLOONS) -> bool:
    """Does this virtual machine report freed memory to its host (virtio free page reporting)?

    Each virtio balloon device lists its negotiated features in `features`,
    one character "0" or "1" per feature bit. False on other machines.
    """
    try:
        for device in balloons.glob("virtio*"):
            bits = (device / "features").read_text(encoding="ascii").strip()
            if bits[VIRTIO_BALLOON_F_REPORTING : VIRTIO_BALLOON_F_REPORTING + 1] == "1":
                return True
    except (OSError, UnicodeError):
        return False
    return False


def no_huge_pages() -> bool:
    """Have Linux give this process ordinary 4 KB pages, not 2 MB transparent huge pages.

    numpy and Arrow's allocator ask for huge pages for their large blocks, and
    the kernel zeroes a huge page whole when it is first touched. A scan frees
    and touches gigabytes anew from phase to phase. Where the memory freed
    goes back to the host (`freed_pages_go_to_host`, as on the benchmark's
    machine), a huge page taken again cost about 1 ms: a ten million order
    scan spent 3.2 s of its 16.6 s of CPU zeroing 1,600 of them. With ordinary
    pages its system time halved (2.3-2.5 s against 4.5-4.9 s), and it took
    8.1-8.2 s instead of 8.9-9.3 s in four alternating pairs (7.9-8.1 s
    against 9.2-9.3 s after the machine had been idle for 20 s, and about 1 s
    less on 30 million orders). Huge pages are the cheaper way for memory used
    again within a moment, before the host took it: a gigabyte of them took
    0.13 s against 0.33 s in ordinary pages on that machine. So a scan long
    enough to mostly reuse its own memory loses a little: 100 million orders
    took 0.3-4.5 s longer (of 50-56 s) in five pairs. Elsewhere huge pages
    stay on. The setting holds for the whole process. False where there is no
    `prctl` (not Linux) or the kernel refuses.
    """
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError, TypeError):
        return False
    off = ctypes.c_ulong(1)
    return prctl(PR_SET_THP_DISABLE, off, *[ctypes.c_ulong(0)] * 3) == 0


def release_free_memory() -> None:
    """Return freed but retained heap pages to the operating system, where possible."""
    with suppress(ImportError):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        ctypes.CDLL(None).malloc_trim(0)  # the C library the interpreter runs on
