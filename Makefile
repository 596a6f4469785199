# Pulse: the two commands a fresh machine needs are `make dev` and `make test`.
# Everything they need is installed by the targets below (uv into .tools/, Python
# packages from uv.lock into .venv/, services into .services/).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

API_HOST ?= 127.0.0.1
API_PORT ?= 8000

.PHONY: help install services services-down services-status migrate dev api worker \
        test lint typecheck bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

install: $(UV) ## Python environment from uv.lock (exact pins)
	$(UV) sync --frozen

services: ## Install if missing and start FerretDB, Redis and LiveKit on loopback
	scripts/services.sh up

services-down: ## Stop exactly the services `make services` started
	scripts/services.sh down

services-status: ## Show whether each service answers
	scripts/services.sh status

migrate: install services ## Apply pending database migrations
	$(UV) run pulse migrate

dev: install services migrate ## Run API and worker against the local services
	@echo ""
	@echo "  Pulse API      http://$(API_HOST):$(API_PORT)"
	@echo "  Health         http://$(API_HOST):$(API_PORT)/health"
	@echo "  Readiness      http://$(API_HOST):$(API_PORT)/ready"
	@echo "  OpenAPI        http://$(API_HOST):$(API_PORT)/openapi.json (docs at /docs)"
	@echo "  LiveKit        ws://127.0.0.1:7880 (key devkey, secret secret)"
	@echo "  Worker         arq on redis://127.0.0.1:6379"
	@echo ""
	$(UV) run pulse worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null || true' EXIT INT TERM; \
	$(UV) run pulse api --host $(API_HOST) --port $(API_PORT)

test: install services lint typecheck ## Install, start services, run the whole suite
	$(UV) run pytest

lint: install ## ruff, lint and format check
	$(UV) run ruff check pulse tests migrations benchmarks
	$(UV) run ruff format --check pulse tests migrations benchmarks

typecheck: install ## mypy (strict) on pulse/
	$(UV) run mypy

bench: install services ## Event-store and management-API benchmarks (docs/performance.md)
	$(UV) run python benchmarks/eventstore.py
	$(UV) run python benchmarks/api.py
	$(UV) run python benchmarks/tokens.py
	$(UV) run python benchmarks/webhooks.py

clean: services-down ## Stop services and remove local state (data, binaries, venvs)
	rm -rf .services .venv .tools
