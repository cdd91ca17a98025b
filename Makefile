# One command each: `make demo` sets up and de-identifies sample_images/; `make test` sets up and tests.
.PHONY: setup demo test lint samples bench

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/medanon scrub sample_images -o out/sample_images --profile social --overwrite --report out/report.jsonl

test: setup
	.venv/bin/ruff check medanon tests scripts benchmarks
	.venv/bin/ruff format --check medanon tests scripts benchmarks
	.venv/bin/python -m pytest -q

samples: setup
	.venv/bin/python scripts/make_samples.py sample_images

bench: setup
	.venv/bin/python benchmarks/bench_header.py
