# dangjian's image: the locked dependencies (requirements.lock, checked by hash), then the
# project itself, in a virtualenv built in one stage and copied into a slim one.
#   docker build -t dangjian .        (compose.yaml builds it too)
# No setting is baked in beyond the defaults below: secrets come from the environment at run
# time (.env.example).  It runs as `dangjian` (uid 10001), never root.
ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/dangjian
# The lock alone first: this layer is rebuilt when the lock changes, not with every edit.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/dangjian/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY server /src/server
COPY handlers /src/handlers
COPY scheduler /src/scheduler
COPY study_content /src/study_content
COPY migrations /src/migrations
# The project without its dependencies (the lock has them), then a check that nothing is
# missing, and the bytecode compiled now (the runtime user cannot write it).
RUN /opt/dangjian/bin/pip install --no-deps /src \
    && /opt/dangjian/bin/pip check \
    && /opt/dangjian/bin/python -m compileall -q /opt/dangjian/lib

FROM ${PYTHON}
# pg_dump and pg_restore for `dangjian backup` and `restore`: Debian 12's are PostgreSQL 15,
# the server's major version in compose.yaml.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dangjian \
    && useradd --system --uid 10001 --gid dangjian --home-dir /var/lib/dangjian \
       --shell /usr/sbin/nologin dangjian \
    && install -d -o dangjian -g dangjian -m 0750 /var/lib/dangjian
COPY --from=build /opt/dangjian /opt/dangjian
ENV PATH=/opt/dangjian/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DANGJIAN_ENV=production \
    DANGJIAN_DATA_DIR=/var/lib/dangjian \
    DANGJIAN_HOST=0.0.0.0 \
    DANGJIAN_PORT=8080
# A folder with no .env in it: the environment is the only source of settings.
WORKDIR /opt/dangjian
USER dangjian
VOLUME ["/var/lib/dangjian"]
EXPOSE 8080
# Liveness: the process answers on its own port (the scheduler's too: DANGJIAN_PORT).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DANGJIAN_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["dangjian"]
CMD ["serve"]
