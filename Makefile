# streamscore — the commands of the README. Every target installs what it needs first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast down lint bench check-deploy clean

setup:  ## venv, pinned PyPI packages, Debian packages and Maven Central jars
	@bash scripts/setup.sh

demo: setup  ## start the stack, build models, submit both jobs, replay traffic; leaves the stack running
	@bash scripts/demo.sh

test: setup  ## the whole suite against the real local stack
	@bash scripts/test.sh $(PYTEST_ARGS)

test-fast: setup  ## the suite without the slow stack tests (fault injection, long replays)
	@bash scripts/test.sh -m "not slow" $(PYTEST_ARGS)

down:  ## stop everything the stack started (data is kept)
	@if [ -x $(BIN)/streamscore ]; then $(BIN)/streamscore stack down; fi

lint: setup
	@$(BIN)/python -m compileall -q streaming jobs inference connectors schemas fraud sentiment benchmarks tests
	@$(BIN)/promtool check config deploy/prometheus/prometheus.yml >/dev/null 2>&1 || promtool check config deploy/prometheus/prometheus.yml

bench: setup
	@$(BIN)/streamscore stack up
	@$(BIN)/streamscore bench produce --json

check-deploy: setup  ## validate every deployment manifest under deploy/ offline (Kubernetes schemas, CRDs, kustomize, hadolint)
	@bash scripts/check_deploy.sh

clean: down
	rm -rf .run
