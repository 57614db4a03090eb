# The two commands: `make run` (set up and serve the platform) and `make test` (set up and pass the suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The worker and beat of `make run` see them too: SITE_URL (links in mail and feeds) follows where it serves.
export HOST PORT
PYTEST_ARGS ?=
FUZZ_EXAMPLES ?= 120
VAR_DIR := $(or $(SANJIAO_VAR_DIR),var)

.PHONY: run test setup migrate demo serve worker beat check-python clean fuzz

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Sanjiao needs Python 3.11 or newer; found " + sys.version.split()[0]'

$(BIN)/.installed: pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Without SECRET_KEY in the environment, a random key kept in var/ (made once, never committed): the
# settings refuse to start with no key at all (config/secret.py).
$(VAR_DIR)/secret_key: | $(BIN)/.installed
	$(BIN)/python -m config.secret

setup: $(BIN)/.installed $(VAR_DIR)/secret_key

# Holiday years a newer chinesecalendar knows are added after the migration (docs/calendar.md).
migrate: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py import_holidays --from-package

demo: migrate
	$(BIN)/python manage.py load_demo

# One process, one port: HTTP (through Django's WSGI handler) and WebSockets; see config/serve.py.
serve: setup
	$(BIN)/python -m config.serve --host $(HOST) --port $(PORT)

# Beat runs the periodic jobs (expiry, completion, reminders, waitlist, invoices). Without REDIS_URL it
# runs them itself, in-process; with REDIS_URL a worker takes them from Redis. Both stop with the server.
run: demo
	@echo "Sanjiao on http://$(HOST):$(PORT)/ — demo accounts in README.md (password sanjiao-demo); links in mail and feeds follow it unless SITE_URL is set"
	@mkdir -p var; worker=; \
	if [ -n "$$REDIS_URL" ]; then \
	  $(BIN)/celery -A config worker --loglevel=INFO --concurrency=2 >>var/worker.log 2>&1 & worker=$$!; \
	fi; \
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >>var/beat.log 2>&1 & beat=$$!; \
	trap 'kill -TERM $$worker $$beat 2>/dev/null; wait $$worker $$beat 2>/dev/null; echo "background jobs stopped"' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "Periodic jobs: beat (pid $$beat, var/beat.log)$${worker:+, worker (pid $$worker, var/worker.log)}"; \
	$(BIN)/python -m config.serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every operation of the API schema fuzzed with schemathesis against make run's server, anonymous and as a
# researcher; no case may give a 5xx (benchmarks/fuzz.sh, docs/security.md). FUZZ_EXAMPLES per operation.
fuzz: setup
	PYTHON=$(BIN)/python benchmarks/fuzz.sh $(FUZZ_EXAMPLES)

worker: setup
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: setup
	mkdir -p var
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) var
