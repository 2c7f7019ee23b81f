#!/bin/sh
# Container entrypoint: the web container applies migrations before serving (the worker and
# beat containers skip that with MIGRATE=false), then runs the command it was given.
set -eu
if [ "${MIGRATE:-true}" = "true" ]; then
  python manage.py migrate --no-input
  python manage.py load_guide
fi
exec "$@"
