"""Synthetic data in the benchmarks' real on-disk layouts: `writers` / `writers_rgbx` (tiny datasets for tests
and the profiler), `got10k_format` (the one GOT-10k writer), `demo` (the demo's look-alike sequences)."""
