"""The operator's endpoints: liveness, readiness (the database answers) and Prometheus metrics, with the
gauges that say how deep the outbox is and how many long-polls wait."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text

from services.context import AppContext
from services.drafts.waiter import waiter_for
from services.http import openapi, problems
from services.http.metrics import Metrics
from services.outbox.models import OutboxMessage


def build_metrics(ctx: AppContext) -> Metrics:
    metrics = Metrics()
    metrics.add_gauges("countersign_outbox_depth", "Outbox rows waiting for delivery",
                       lambda: outbox_depth(ctx.engine), "kind")
    metrics.add_gauges("countersign_long_polls", "Draft long-polls waiting in this process",
                       lambda: {"waiting": float(waiter_for(ctx).waiting)}, "state")
    return metrics


def install_ops(app: FastAPI, *, engine: Engine, metrics: Metrics) -> None:
    @app.get("/healthz", tags=["ops"], response_model=openapi.Health)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=openapi.Ready, responses=openapi.problems(503))
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not ready"; the body says which
            return problems.problem(503, "Not ready", f"database unreachable: {type(exc).__name__}", slug="not-ready")
        return JSONResponse({"status": "ready", "database": "ok"})

    @app.get("/metrics", tags=["ops"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"}})
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def outbox_depth(engine: Engine) -> dict[str, float]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.kind, func.count()).where(OutboxMessage.status == "pending")  # type: ignore[arg-type]
            .group_by(OutboxMessage.kind)).all()
    depth = {"slack": 0.0, "callback": 0.0}
    depth.update({kind: float(count) for kind, count in rows})
    return depth
