# Jiasao: `make run` starts the platform from a fresh clone, `make test` tests everything.
# PYTHON creates the virtualenv (3.11+); everything else runs inside it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICES := registry training credit rating matching

.DEFAULT_GOAL := help
.PHONY: help venv run test bench chaos lint migrate contracts lock demo clean manifests image screenshots

help:
	@echo "make run        start nats-server, migrate, start the services and the gateway"
	@echo "                (JIASAO_DB=postgresql: one database per service on JIASAO_POSTGRES_URL)"
	@echo "make test       run every test (PostgreSQL too when JIASAO_TEST_POSTGRES_URL is set)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make bench      run the benchmarks"
	@echo "make migrate    upgrade every service's database"
	@echo "make contracts  regenerate the event JSON Schemas and AsyncAPI documents"
	@echo "make lock       re-resolve requirements.lock from pyproject.toml"
	@echo "make demo       load demo data into a running platform"
	@echo "make screenshots start a seeded platform, write PNGs of each web page to var/screenshots/"
	@echo "make manifests  regenerate deploy/ (Kubernetes base, NATS accounts) from the code"
	@echo "make image      build the container image (docker; deploy/Dockerfile)"
	@echo "make venv       create $(VENV) and install the locked dependencies"
	@echo "make clean      remove var/ (databases, JetStream data, logs, dev keys)"

venv: $(STAMP)

# Re-installs only when the lock file or pyproject.toml changed since the last install.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

run: venv
	$(PY) -m devtools.run

# Files run whole on parallel workers (pytest-xdist): about 16 minutes instead of 25 on 2 cores.
TEST_WORKERS ?= 2
test: venv
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: venv
	$(PY) -m bench

chaos: venv ; $(PY) -m devtools.chaos

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrate: venv
	@set -e; for service in $(SERVICES); do \
		echo "migrating $$service"; \
		$(PY) -m services.$$service migrate; \
	done

contracts: venv
	$(PY) -m contracts.generate

manifests: venv
	$(PY) -m devtools.nats_auth deploy
	$(PY) -m devtools.k8s manifests

IMAGE ?= jiasao:dev
image:
	docker build -f deploy/Dockerfile -t $(IMAGE) .

# Not on `venv`: the lock is an input of the install, not a product of it.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

screenshots: venv
	$(PY) -m devtools.screenshots

demo: venv
	@if [ -f devtools/demo.py ]; then $(PY) -m devtools.demo; \
	else echo "no demo yet (devtools/demo.py)"; fi

clean:
	rm -rf var/
