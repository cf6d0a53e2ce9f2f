"""Stand-in benchmark modules for tests/test_bench_report.py: the runner's contract
(`TITLE`, `run()` yielding figures) without measuring anything."""
