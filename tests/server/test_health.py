"""Health probes answer as load balancers expect, through a real uvicorn server."""

from __future__ import annotations

import httpx


class _Worker:
    """A minimal background service whose liveness the test controls."""

    name = "test_worker"

    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def is_running(self) -> bool:
        return self.running


def test_healthz_answers_ok(paysync_server) -> None:
    response = httpx.get(f"{paysync_server()}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_started_services(paysync_server) -> None:
    worker = _Worker()
    base_url = paysync_server(services=[worker])
    response = httpx.get(f"{base_url}/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "secrets": "ok",
        "test_worker": "running",
    }


def test_readyz_is_503_when_a_service_stops(paysync_server) -> None:
    worker = _Worker()
    base_url = paysync_server(services=[worker])
    worker.stop()
    response = httpx.get(f"{base_url}/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "secrets": "ok", "test_worker": "stopped"},
    }
