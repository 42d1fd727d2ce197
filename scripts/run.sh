#!/usr/bin/env bash
# Starts the portal for development and demos: starts the local AWS sandbox, migrates the
# database (SQLite unless DATABASE_URL says otherwise), builds the demo data in the
# sandbox, and runs the web server, an RQ worker, the config packs' RQ worker and the cron
# scheduler (the periodic tunnel status refresh) together under honcho.
#
# The queue: Redis at REDIS_URL when one answers; otherwise a private redis-server if one
# is installed; otherwise jobs run inside the web process (and this script says so).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# Development: debug on, which also lets the portal use the repository's development keys
# (with debug off it refuses to start without keys of its own).
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
export PORT="${PORT:-8000}"
export SANDBOX_PORT="${SANDBOX_PORT:-5055}"
# Links in emails point at this server unless told otherwise.
export PORTAL_BASE_URL="${PORTAL_BASE_URL:-http://127.0.0.1:$PORT}"
export LOCAL_REDIS_PORT="${LOCAL_REDIS_PORT:-6390}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-sandbox}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-sandbox}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

redis_answers() {
  python -c "import redis, sys; redis.Redis.from_url(sys.argv[1], socket_timeout=1).ping()" "$1" \
    >/dev/null 2>&1
}

sandbox_answers() {
  python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$AWS_ENDPOINT_URL/_sandbox/state-delay" >/dev/null 2>&1
}

# The AWS sandbox (and a private Redis, when one is needed) start before the rest: the
# demo data is built in the sandbox, and its request shown provisioning waits in the queue.
# They run in the background until this script ends; Procfile.dev keeps them too, for
# `honcho -f Procfile.dev start` on its own.
mkdir -p .run
background=()
stop_background() {
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_background EXIT

# Waits until "$2..." succeeds, as long as process $1 lives (a minute at most).
wait_for() {
  local pid=$1
  shift
  for _ in $(seq 120); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

if sandbox_answers; then
  echo "Something already answers on port $SANDBOX_PORT; set SANDBOX_PORT to a free port." >&2
  exit 1
fi
python manage.py aws_sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" >.run/sandbox.log 2>&1 &
background+=("$!")
if ! wait_for "$!" sandbox_answers; then
  echo "The AWS sandbox did not start; see .run/sandbox.log." >&2
  exit 1
fi
echo "AWS sandbox: $AWS_ENDPOINT_URL (each call it answers is logged in .run/sandbox.log)"

processes="web"
if redis_answers "$REDIS_URL"; then
  echo "Queue: Redis at $REDIS_URL"
  processes="$processes worker packs cron"
elif command -v redis-server >/dev/null; then
  export REDIS_URL="redis://127.0.0.1:$LOCAL_REDIS_PORT/0"
  echo "Queue: no Redis answered; starting redis-server on port $LOCAL_REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$LOCAL_REDIS_PORT" --save "" --appendonly no \
    >.run/redis.log 2>&1 &
  background+=("$!")
  if ! wait_for "$!" redis_answers "$REDIS_URL"; then
    echo "redis-server did not start; see .run/redis.log." >&2
    exit 1
  fi
  processes="$processes worker packs cron"
else
  export RQ_ASYNC=false
  echo "Queue: no Redis and no redis-server installed; jobs will run inside the web process."
  echo "Tunnel status is then read from AWS only by the Refresh now buttons."
fi

python manage.py migrate --no-input -v 0
echo "Building the demo in the sandbox (its VPNs are provisioned for real)..."
LOG_LEVEL=ERROR python manage.py seed_demo

cat <<MSG

  Open http://127.0.0.1:$PORT/ and log in with one of the accounts above.
  AWS calls go to the local sandbox at $AWS_ENDPOINT_URL.  Stop with Ctrl-C.

MSG
# shellcheck disable=SC2086
honcho --procfile Procfile.dev start $processes
