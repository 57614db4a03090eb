#!/usr/bin/env bash
# Fuzz the whole HTTP API with schemathesis against `make run`'s server: no generated request may give a 5xx.
#
#   benchmarks/fuzz.sh [EXAMPLES]        (make fuzz; EXAMPLES per operation and pass, default 120)
#
# It migrates a scratch SQLite database in a temporary SANJIAO_VAR_DIR, loads the demo, starts the server as
# `make run` does (`python -m config.serve`, no Redis: tasks in-process), then runs schemathesis over every
# operation of /api/v1/schema/ twice: anonymously, and as the demo researcher wei.zhang with the token
# `POST /api/v1/auth/token/` gives. The Stripe webhook gets a signing secret, so it answers as it does in
# production (400 for every unsigned body) rather than 503 "not configured". Only server errors fail the
# run (`--checks not_a_server_error`); schemathesis prints the cases it generated and any failure with a
# curl command that reproduces it. Everything is removed at the end, the server stopped.
#
# Environment: PYTHON (default .venv/bin/python), FUZZ_SEED (default 1; a different seed explores other
# cases), FUZZ_WORKERS (default 1: with more threads, Python 3.11's parser can fail inside schemathesis's
# generator, "AST constructor recursion depth mismatch"), FUZZ_PHASES (default all four of schemathesis:
# examples, coverage, fuzzing, stateful; CI runs `FUZZ_PHASES=fuzzing benchmarks/fuzz.sh 4`, a few hundred
# cases). docs/security.md ("Fuzzing") records the figures of a full run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
SCHEMATHESIS=${SCHEMATHESIS:-$(dirname "$PYTHON")/schemathesis}
EXAMPLES=${1:-120}
SEED=${FUZZ_SEED:-1}
WORKERS=${FUZZ_WORKERS:-1}
PHASES=${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sanjiao-fuzz-XXXXXX")
server=
cleanup() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

unset DATABASE_URL REDIS_URL
export SANJIAO_VAR_DIR="$scratch" DEBUG=false LOG_LEVEL=WARNING PYTHONUNBUFFERED=1
export SECRET_KEY=${SECRET_KEY:-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')}
export STRIPE_WEBHOOK_SECRET="whsec_fuzz_$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
export EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend

echo "== demo data in $scratch"
"$PYTHON" manage.py migrate --noinput -v0
"$PYTHON" manage.py load_demo >"$scratch/demo.log" 2>&1

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$PYTHON" -m config.serve --host 127.0.0.1 --port "$port" >"$scratch/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
    "$base/api/v1/schema/?format=json" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$scratch/server.log" >&2; exit 1; }
  sleep 1
done

token=$("$PYTHON" - "$base/api/v1/auth/token/" <<'PY'
import json, sys, urllib.request

body = json.dumps({"username": "wei.zhang", "password": "sanjiao-demo"}).encode()
request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=30))["token"])
PY
)

fuzz() {
  local who=$1
  shift
  echo "== schemathesis, $who, $EXAMPLES examples per operation, seed $SEED, phases $PHASES"
  "$SCHEMATHESIS" --no-color run "$base/api/v1/schema/?format=json" --url "$base" \
    --checks not_a_server_error --max-examples "$EXAMPLES" --seed "$SEED" --workers "$WORKERS" --phases "$PHASES" \
    --request-timeout 60 --suppress-health-check all --warnings off "$@"
}

status=0
fuzz anonymous || status=1
fuzz "researcher wei.zhang" -H "Authorization: Token $token" || status=1
if grep -q "Internal Server Error\|Traceback" "$scratch/server.log"; then
  echo "== the server logged errors:" >&2
  grep -B2 -A30 "Traceback" "$scratch/server.log" | head -200 >&2
  status=1
fi
exit "$status"
