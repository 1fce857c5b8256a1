"""Test-session settings: a compilation cache shared by the tests and the subprocesses they start.

Many tests compile the same small programs (the smoke configs); JAX's persistent cache makes the second
compile a lookup. The cache lives in a fresh temporary directory for each test session.
"""

import os
import tempfile

import jax

_CACHE = tempfile.mkdtemp(prefix="ntm-jax-cache-")
# Set in the environment too, so that the subprocesses some tests start use the same cache.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
