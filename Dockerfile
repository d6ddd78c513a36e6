# Countersign: one image runs the API, the Slack app and the scheduler (`countersign serve`).
#
# The base image is pinned by digest (python:3.11-slim, multi-arch index); refresh it with
#   docker buildx imagetools inspect python:3.11-slim --format '{{json .Manifest.Digest}}'
# Dependencies come from requirements.lock (every package pinned with hashes; regenerate it with
#   uv pip compile pyproject.toml --python-version 3.11 --universal --generate-hashes --no-header \
#       --annotation-style line -o requirements.lock
# ), so two builds of one commit install the same bytes.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/countersign \
 && /opt/countersign/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY services ./services
COPY bot ./bot
COPY web ./web
# The lock already holds every dependency: install only the project itself.
RUN /opt/countersign/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/countersign/bin:$PATH \
    COUNTERSIGN_HOST=0.0.0.0 COUNTERSIGN_PORT=8000 \
    DATABASE_URL=sqlite:////data/countersign.db \
    MPLCONFIGDIR=/tmp/matplotlib
COPY --from=build /opt/countersign /opt/countersign
RUN useradd --system --uid 10001 --home /data countersign && mkdir -p /data && chown countersign /data
# The SQLite database (and nothing else) lives here: mount a volume to keep it across containers.
VOLUME /data
USER countersign
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; port=os.environ.get('COUNTERSIGN_PORT','8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"
CMD ["countersign", "serve"]
