#!/usr/bin/env bash
# Run the sandbox: the web server and a django-q2 worker together. Ctrl-C stops both.
set -uo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-../.venv/bin/python}"
PORT="${PORT:-8000}"
export PORT

pids=()
stop() {
    trap - INT TERM EXIT
    if [ "${#pids[@]}" -gt 0 ]; then
        echo
        echo "Stopping the web server and the worker..."
        kill -TERM "${pids[@]}" 2>/dev/null
        wait "${pids[@]}" 2>/dev/null
    fi
    exit 0
}
trap stop INT TERM EXIT

# The worker runs in a session of its own: Ctrl-C reaches only this script, which stops
# the worker's main process, and that process stops its workers in order. (Ctrl-C sent
# to every worker process at once could leave the cluster waiting on a dead child.)
setsid "$PYTHON" manage.py qcluster &
pids+=("$!")
"$PYTHON" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=("$!")

if [ -n "${REDIS_URL:-}" ]; then queue="Redis at ${REDIS_URL}"; else queue="the database (ORM broker)"; fi

cat <<MSG

  Mailflow sandbox
  ----------------
  Site:          http://127.0.0.1:${PORT}/
  Signup page:   http://127.0.0.1:${PORT}/newsletter/
  Wagtail admin: http://127.0.0.1:${PORT}/admin/   login: admin / admin (local sandbox only)
  Emails:        written to ${EMAIL_FILE_PATH:-sandbox/outbox/} (EMAIL_BACKEND changes this)
  Task queue:    ${queue}

  Press Ctrl-C to stop both processes.

MSG

# Whichever process ends first (Ctrl-C, a crash), stop the other one too.
wait -n "${pids[@]}"
stop
