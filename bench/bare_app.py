"""The baseline of the ingest figure: a FastAPI route that does nothing, under the same
uvicorn as the services (`uvicorn bench.bare_app:app`)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.api_route("/{path:path}", methods=["POST", "PATCH"], status_code=201)
async def nothing(path: str) -> dict[str, str]:
    return {}
