#!/usr/bin/env bash
# `make serve`: the portal as production runs it. Checks that the variables production
# needs are set (in the environment or in .env), that `check --deploy` is clean and that
# the database is migrated; collects the static files; then starts the Procfile's
# processes (web = gunicorn, worker = an RQ worker, packs = the config packs' RQ worker,
# cron = RQ's cron scheduler) with debug off, the web on PORT (8000).
#
# Why a script and not honcho (which `make run` uses): honcho stops a process by sending
# SIGTERM to its whole process group and kills it 5 seconds later. The group includes the
# RQ worker's work horse, which dies at once on SIGTERM: no warm shutdown. This script
# starts each process in a session of its own (so a Ctrl-C reaches this script only), and
# on Ctrl-C or SIGTERM signals only the three main processes, once, and waits as long as
# they take: gunicorn finishes its requests (graceful_timeout), the worker finishes its
# job (RQ's warm shutdown). A second Ctrl-C or SIGTERM stops them at once (SIGINT: RQ's
# cold shutdown; a job cut off is retried, which the steps' idempotence makes safe).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

export DJANGO_DEBUG=false
export PORT="${PORT:-8000}"

# What a deployment must say itself: the portal's defaults suit development only.
REQUIRED=(
  DJANGO_SECRET_KEY     # signs sessions and links
  PSK_ENCRYPTION_KEYS   # encrypts the pre-shared keys at rest
  DJANGO_ALLOWED_HOSTS  # the host names the portal answers to
  DATABASE_URL          # PostgreSQL (the default SQLite file is for development)
  REDIS_URL             # the queue (and, on another database, the cache)
  PORTAL_BASE_URL       # the address links in emails point at
  EMAIL_URL             # the SMTP server (the default prints emails on the console)
)

# Whether variable $1 has a value in the environment or in .env (which the settings read).
is_set() {
  [ -n "${!1:-}" ] && return 0
  [ -f .env ] && grep -Eq "^[[:space:]]*(export[[:space:]]+)?$1=[^[:space:]]" .env
}

missing=()
for name in "${REQUIRED[@]}"; do
  is_set "$name" || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "make serve: these variables are not set (in the environment or .env):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "docs/deploy.md says what each one is." >&2
  exit 2
fi

python manage.py check --deploy --fail-level WARNING
if ! python manage.py migrate --check >/dev/null 2>&1; then
  echo "make serve: the database has migrations to apply: run python manage.py migrate." >&2
  exit 2
fi
python manage.py collectstatic --no-input -v 0

# The processes of the Procfile, each line's output prefixed with its name.
pids=()
while IFS= read -r line; do
  [[ "$line" =~ ^([a-z]+):[[:space:]]*(.+)$ ]] || continue
  name="${BASH_REMATCH[1]}"
  command="${BASH_REMATCH[2]}"
  setsid bash -c "exec $command" > >(sed -u "s/^/$name | /") 2>&1 &
  pids+=("$!")
  echo "serve: started $name (pid $!): $command"
done <Procfile

stopping=""
stop() {
  if [ -n "$stopping" ]; then
    echo "serve: stopping at once"
    kill -INT "${pids[@]}" 2>/dev/null || true
    return
  fi
  stopping=1
  echo "serve: stopping (web finishes its requests, worker its job; again to stop at once)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM

# When any process ends, the others are stopped: a portal without its worker or its web
# is not running.
wait -n "${pids[@]}" || true
[ -n "$stopping" ] || { echo "serve: a process ended; stopping the others"; stop; }
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
done
echo "serve: stopped"
