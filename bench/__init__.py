"""Benchmarks and the live-server plumbing the soak, crash and replica tests share. Not part of the default
test run: `python -m bench.run [--pg URL] [--quick]` prints the figures table."""
