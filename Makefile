# Benchmarks (results land in docs/performance.md). Run `python3 dev.py test` once first to create .venv.
PY := .venv/bin/python

.PHONY: bench bench-crypto
bench: bench-crypto

bench-crypto:
	$(PY) -m bench.crypto_bench
