# Benchmarks (results land in docs/performance.md). Run `python3 dev.py test` once first to create .venv.
# They need PostgreSQL at 127.0.0.1:5432 (REFERRAL_BENCH_POSTGRES_URL); bench-referral uses wrk if installed.
PY := .venv/bin/python

.PHONY: bench bench-crypto bench-audit bench-referral bench-reports bench-public bench-lists bench-import
bench: bench-crypto bench-audit bench-referral bench-reports bench-public bench-lists bench-import

bench-crypto:
	$(PY) -m bench.crypto_bench

bench-audit:
	$(PY) -m bench.audit_bench

bench-referral:
	$(PY) -m bench.referral_bench

bench-reports:
	$(PY) -m bench.reports_bench

bench-public:
	$(PY) -m bench.public_bench

bench-lists:
	$(PY) -m bench.lists_bench

bench-import:
	$(PY) -m bench.import_bench
