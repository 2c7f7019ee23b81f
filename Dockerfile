# syntax=docker/dockerfile:1
# Front-end packages are built with node; the runtime is slim Python with no node at all.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY static/scss ./static/scss
RUN npm run build && npm prune --omit=dev

FROM python:3.11-slim-bookworm AS runtime
# Production is the settings' default; saying so here as well keeps a stray .env (which the
# environment wins over) from turning development mode on in the image.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_DEBUG=false
WORKDIR /app
RUN groupadd --system --gid 10001 tracker && useradd --system --uid 10001 --gid tracker --home-dir /app tracker
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY --from=assets /app/static/build ./static/build
COPY . .
# collectstatic needs settings that import cleanly: a throwaway key, used only at build time.
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input \
    && mkdir -p var && chown -R tracker:tracker var
USER 10001:10001
EXPOSE 8000
# Migrates (unless MIGRATE=false, as for the worker and beat), then runs the command.
ENTRYPOINT ["config/docker-entrypoint.sh"]
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
