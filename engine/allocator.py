"""glibc's allocator, set for a process that compresses photo after photo.

A photo's search allocates and frees the same large arrays again and again (planes, tile
mosaics, SSIMULACRA2's maps). glibc serves arrays over its mmap threshold (128 KB at first) with
fresh mappings and unmaps them when freed, so every trial page-faults its memory back in and the
kernel zeroes it. :func:`keep_freed_memory` raises the threshold to glibc's most (32 MB), lets
the heap keep what it frees (no trim below 1 GB) and grow 64 MB at a time, so the arrays of the
next trial reuse the pages of the last. Measured on eight 8-12 MP camera-native photos in one
process: page faults 229,592 -> 23,092, kernel time 1.7 s -> 0.1 s, 0.99 -> 1.23 photos/s; the
daemon's two worker processes on ten such photos 1.64 -> 1.82 photos/s. The price: a process
keeps its peak (one photo's working set) instead of handing it back between photos. Called by
the processes that compress (the ``focuspress`` command, whatever its subcommand, and the
daemon's workers); the engine never changes it on import (a library must not retune its host's
allocator: a Python caller who compresses many photos may call it).

Why ctypes: ``mallopt`` is glibc's, and no maintained package wraps it; elsewhere (musl, macOS)
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024
#: the heap grows by this much more than it is asked for (fewer, larger brk calls; on the daemon's
#: two workers with 8-12 MP photos 1.62-1.69 photos/s without it, 1.78-1.82 with it)
TOP_PAD_BYTES = 64 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Set glibc's allocator as the module's docstring says; False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (_M_TOP_PAD, TOP_PAD_BYTES),
    )
    return all([bool(mallopt(name, value)) for name, value in settings])
