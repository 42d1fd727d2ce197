#!/usr/bin/env bash
# Starts the portal for development and demos: migrates the database (SQLite unless
# DATABASE_URL says otherwise), loads the demo data, and runs the web server, an RQ
# worker, the cron scheduler (the periodic tunnel status refresh) and the local AWS sandbox
# together under honcho.
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

processes="web sandbox"
if redis_answers "$REDIS_URL"; then
  echo "Queue: Redis at $REDIS_URL"
  processes="$processes worker cron"
elif command -v redis-server >/dev/null; then
  export REDIS_URL="redis://127.0.0.1:$LOCAL_REDIS_PORT/0"
  echo "Queue: no Redis answered; starting redis-server on port $LOCAL_REDIS_PORT"
  processes="$processes redis worker cron"
else
  export RQ_ASYNC=false
  echo "Queue: no Redis and no redis-server installed; jobs will run inside the web process."
  echo "Tunnel status is then read from AWS only by the Refresh now buttons."
fi

python manage.py migrate --no-input -v 0
python manage.py seed_demo

cat <<MSG

  Open http://127.0.0.1:$PORT/ and log in with one of the accounts above.
  AWS calls go to the local sandbox at $AWS_ENDPOINT_URL.  Stop with Ctrl-C.

MSG
# shellcheck disable=SC2086
exec honcho start $processes
