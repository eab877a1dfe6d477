"""The compiled kernel's disk cache, flushed when any source it was compiled from changes.

Numba keys a cached function on its own file alone: after an edit of a module it calls, an entry
point would load stale code. So the cache carries a digest of every module the kernel is
compiled from (:data:`KERNEL_MODULES`, and nothing else: the NumPy reference and the drivers
can change without a recompile), and a different digest flushes every cached function.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numba as nb

__all__ = ["KERNEL_MODULES", "refresh_disk_cache"]


#: Every module whose code the compiled kernel is built from (the jitted functions, the
#: ``register_jitable`` ones they call, the named tuples they make) and no other.
KERNEL_MODULES = (
    "pymc_fisher.softabs",
    "pymc_fisher.samplers.adaptation.integration_time",
    "pymc_fisher.samplers.adaptation.step_size",
    "pymc_fisher.samplers.compiled.binding",
    "pymc_fisher.samplers.compiled.chain",
    "pymc_fisher.samplers.compiled.integrator",
    "pymc_fisher.samplers.core.chain",
    "pymc_fisher.samplers.core.options",
    "pymc_fisher.samplers.core.types",
    "pymc_fisher.samplers.metric.compiled",
)


def kernel_digest(modules: Sequence[str] = KERNEL_MODULES) -> str:
    """SHA-256 of the sources of ``modules``."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(importlib.import_module(name).__file__ or "").read_bytes())
    return digest.hexdigest()


def refresh_disk_cache(entry: Any, modules: Sequence[str] = KERNEL_MODULES) -> None:
    """Flush the kernel's cached machine code when any source it was compiled from changed.

    ``entry`` is one cached dispatcher of the kernel: the digest stamp lives in its cache
    directory; every cached dispatcher of ``modules`` is flushed. A read-only cache directory
    is left alone (Numba then caches nothing there).
    """
    cache_dir: Any = entry._cache._cache_path
    stamp = Path(cache_dir) / "pymc_fisher_kernel.sha256"
    digest = kernel_digest(modules)
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for name in modules:
            for value in vars(importlib.import_module(name)).values():
                cache = getattr(value, "_cache", None)
                if isinstance(value, nb.core.registry.CPUDispatcher) and cache is not None:
                    cache.flush()
        stamp.write_text(digest)
    except OSError:
        return
