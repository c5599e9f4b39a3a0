# syntax=docker/dockerfile:1
# One image for every Lumbung service. The service is chosen at run time:
#   docker run -e LUMBUNG_SERVICE=registry ... lumbung            (or: docker run ... lumbung registry)
#   docker run ... lumbung lumbung replay                          (the operator CLI)
# See deploy/entrypoint.sh and deploy/README.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: install the pinned dependencies and the package into a venv --------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (pinned with == in pyproject.toml), so code edits reuse this layer.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
    > /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps . && python -m compileall -q /src/shared /src/services

# ---- runtime: the venv and the sources, no compilers, a non-root user ----------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG LUMBUNG_UID=10001
RUN groupadd --system --gid ${LUMBUNG_UID} lumbung \
 && useradd --system --uid ${LUMBUNG_UID} --gid lumbung --home-dir /app --shell /usr/sbin/nologin lumbung
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /src/shared ./shared
COPY --from=build /src/services ./services
COPY deploy/entrypoint.sh ./deploy/entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LUMBUNG_MODE=distributed \
    LUMBUNG_HOST=0.0.0.0 \
    LUMBUNG_PORT=8000 \
    LUMBUNG_DEMO=off \
    LUMBUNG_DATA_DIR=/tmp/lumbung
USER ${LUMBUNG_UID}:${LUMBUNG_UID}
EXPOSE 8000
# /healthz: the process answers. Orchestrators use /readyz for readiness (store reachable).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LUMBUNG_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD []
