"""Benchmarks. Each module is run by a `make bench-*` target and writes its section of docs/performance.md."""
