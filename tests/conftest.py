"""Test-session settings: a compilation cache shared by the tests and the subprocesses they start.

Many tests compile the same small programs (the smoke configs); JAX's persistent cache makes the second
compile a lookup. The cache lives in a temporary directory made by the session's first process (pytest
itself, or its controller under pytest-xdist, whose workers and their subprocesses inherit the variable)
and removed when that process exits; a JAX_COMPILATION_CACHE_DIR already set is used as it is.

The tests' programs are small and most run a few steps, so their time goes to compiling them: XLA's CPU
backend compiles them without LLVM's optimisation passes (``--xla_backend_optimization_level=0``, about a
quarter off the suite's time on 2 cores). The HLO passes (fusion, layout, the program itself) are the
ones users get; only the machine code is less tuned. Subprocesses inherit the flag through XLA_FLAGS.
"""

import atexit
import os
import shutil
import tempfile

import jax

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="ntm-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
