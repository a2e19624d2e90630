"""Liveness, readiness and Prometheus metrics (no auth: for probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from nlp_service.api.deps import ServicesDep
from nlp_service.core.metrics import exposition

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    ok, detail = services.ready()
    return JSONResponse({"status": "ready" if ok else "not_ready", "detail": detail}, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics() -> Response:
    body, media_type = exposition()
    return Response(body, media_type=media_type)
