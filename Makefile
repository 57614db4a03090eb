# The two commands: `make run` (set up and serve the platform) and `make test` (set up and pass the suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test setup migrate demo serve worker beat check-python clean

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Sanjiao needs Python 3.11 or newer; found " + sys.version.split()[0]'

$(BIN)/.installed: pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

migrate: setup
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

serve: setup
	$(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

# With REDIS_URL, background work needs a worker and beat: started here, stopped with the server.
run: demo
	@echo "Sanjiao on http://$(HOST):$(PORT)/ — demo accounts in README.md (password sanjiao-demo)"
	@if [ -z "$$REDIS_URL" ]; then exec $(MAKE) --no-print-directory serve; fi; \
	mkdir -p var; \
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2 >>var/worker.log 2>&1 & worker=$$!; \
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >>var/beat.log 2>&1 & beat=$$!; \
	trap 'kill -TERM $$worker $$beat 2>/dev/null; wait $$worker $$beat 2>/dev/null; echo "worker and beat stopped"' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "Celery worker (pid $$worker) and beat (pid $$beat) running; logs in var/worker.log and var/beat.log"; \
	$(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: setup
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: setup
	mkdir -p var
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) var
