# Countersign: one image runs the API, the Slack app and the scheduler (`countersign serve`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services ./services
COPY bot ./bot
COPY web ./web
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    COUNTERSIGN_HOST=0.0.0.0 COUNTERSIGN_PORT=8000 \
    DATABASE_URL=sqlite:////data/countersign.db
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home /data countersign && mkdir -p /data && chown countersign /data
USER countersign
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; port=os.environ.get('COUNTERSIGN_PORT','8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"
CMD ["countersign", "serve"]
