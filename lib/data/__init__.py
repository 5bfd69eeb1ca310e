"""Dataset code in one place: on-disk layouts (`layouts`), what a layout reads (`records`), the benchmarks'
split lists (`splits`, files in lib/train/data_specs/), the catalogue of dataset names with their roots,
layouts and expected counts (`catalog`), the data check behind tracking/check_data.py (`check`), and the
synthetic data writers used by tests, the profiler and the demo (`synthetic`).

pytracking's per-dataset classes stay thin over this package: lib/train/dataset (training) and
lib/test/evaluation (evaluation).
"""
