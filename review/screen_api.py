"""The screening service: ``POST /api/screen`` for filing systems (``tmscreen serve-screen``).

Clients authenticate with an API token (``Authorization: Bearer tms_…``; ``tmscreen tokens add``),
stored as a SHA-256 hash with its scopes; a revoked token is refused from the next request on. Each
client is limited per minute and per UTC day (applications screened, counted atomically in the
review database's quota table), and every call is appended to the hash-chained audit log (client,
index, number screened, the ids flagged). The service screens against the newest run of the state
folder: when a new run lands it is loaded in the background and swapped in at once, requests in
between are served by the previous index, never by a half-loaded one. The JSON schema is served at
``/openapi.json`` (docs/screening.md).
"""


import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

from review import db as rdb

log = logging.getLogger("tmscreen")
MAX_PER_CALL = 1000


@dataclass(frozen=True)
class ScreenSettings:
    """per_minute / per_day: applications a client may screen per minute / per UTC day (HTTP 429
    above, nothing screened). max_per_call: applications in one request (HTTP 413 above)."""

    per_minute: int = 6000
    per_day: int = 200_000
    max_per_call: int = MAX_PER_CALL


class ScreenRequest(BaseModel):
    applications: list[dict[str, str | int | float | list[str | int] | None]] = Field(
        description="applications in the data contract (docs/data-contract.md): application_id, filing_date, "
                    "mark_text, nice_classes (text '9;35' or a list), goods_services, applicant_name, "
                    "applicant_address, applicant_country, applicant_type, agent_name")


class ScreenResponse(BaseModel):
    index: dict = Field(description="the register index screened against: run, as_of, applications")
    results: list[dict] = Field(description="one per application, in order: a result (application_id, risk, "
                                            "flagged, flags, resembles, applicant, changes) or a rejected "
                                            "row {line, application_id, error} (line: its 1-based position)")


class LiveIndex:
    """The screener of the state's newest run, swapped atomically when a newer run lands."""

    def __init__(self, state: Path, config, poll_seconds: float = 5.0):
        self.state, self.config, self.poll_seconds = Path(state), config, poll_seconds
        self._lock = threading.Lock()
        self._loading: str | None = None
        self._failed: str | None = None  # a run that could not be loaded is not tried again
        self._checked = 0.0
        self.current: tuple[str, object] | None = None  # (run name, Screener): one reference, swapped whole
        newest = self.newest()
        if newest:
            self.current = (newest, self._open(newest))

    def newest(self) -> str | None:
        runs = sorted(p.name for p in (self.state / "runs").glob("[0-9]*") if (p / "index" / "index.json").exists())
        return runs[-1] if runs else None

    def _open(self, name: str):
        from pipeline.screen import Screener

        return Screener.open(self.state / "runs" / name, self.config)

    def get(self):
        """(run name, Screener) to serve this request with; starts loading a newer run if one landed."""
        now = time.monotonic()
        if now - self._checked >= self.poll_seconds:
            self._checked = now
            newest = self.newest()
            current = self.current[0] if self.current else None
            with self._lock:
                start = newest and newest not in (current, self._loading, self._failed)
                if start:
                    self._loading = newest
            if start:
                threading.Thread(target=self._load, args=(newest,), daemon=True).start()
        return self.current

    def _load(self, name: str) -> None:
        try:
            screener = self._open(name)
            self.current = (name, screener)  # one assignment: a request sees the old or the new, whole
        except Exception:  # a broken run must not stop the service: the previous index keeps serving
            self._failed = name
            log.exception("could not load the register index of run %s; still serving %s", name,
                          self.current[0] if self.current else None)
        finally:
            with self._lock:
                self._loading = None


def create_screen_app(state: Path, config, db_url: str | None = None, settings: ScreenSettings | None = None,
                      poll_seconds: float = 5.0) -> FastAPI:
    from pipeline.screen import read_new_applications, rejected_results

    state = Path(state)
    settings = settings or ScreenSettings()
    url = db_url or rdb.default_db_url(state)
    db = rdb.make_sessionmaker(rdb.make_engine(url), anchor=rdb.anchor_path(url, state))
    live = LiveIndex(state, config, poll_seconds)
    app = FastAPI(title="tmscreen screening", version="1", docs_url=None, redoc_url=None,
                  description="Intake screening of new trademark applications against the scored register.")
    app.state.live, app.state.db = live, db

    def scoped(scope: str):
        def client(authorization: Annotated[str, Header()] = "") -> rdb.ApiToken:
            scheme, _, token = authorization.partition(" ")
            row = rdb.token_of(db, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
            if row is None:
                raise HTTPException(401, "a valid API token is required (Authorization: Bearer <token>)",
                                    headers={"WWW-Authenticate": "Bearer"})
            if scope not in row.scopes.split():
                raise HTTPException(403, f"the token of {row.client} lacks the '{scope}' scope")
            return row
        return client

    @app.get("/healthz")
    def healthz():
        current = live.current
        return {"ok": current is not None, "run": current[0] if current else None}

    @app.get("/api/status")
    def status(token: Annotated[rdb.ApiToken, Depends(scoped("status"))]):
        current = live.get()
        return {"run": current[0] if current else None,
                "index": current[1].index.meta if current else None}

    @app.post("/api/screen", response_model=ScreenResponse)
    def screen(body: ScreenRequest, request: Request, token: Annotated[rdb.ApiToken, Depends(scoped("screen"))]):
        n = len(body.applications)
        if n > settings.max_per_call:
            raise HTTPException(413, f"{n} applications in one call; at most {settings.max_per_call}")
        minute = rdb.utcnow().strftime("%H:%M")
        if not (rdb.take_quota(db, f"api:{token.client}", f"screen@{minute}", n, settings.per_minute)
                and rdb.take_quota(db, f"api:{token.client}", "screen", n, settings.per_day)):
            raise HTTPException(429, f"rate limit: {settings.per_minute} applications a minute, "
                                     f"{settings.per_day} a day for {token.client}")
        current = live.get()
        if current is None:
            raise HTTPException(503, f"no register index in {state}/runs yet: run tmscreen batch first")
        run, screener = current
        raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in body.applications).encode()
        as_of = pd.Timestamp.now().normalize()
        if raw:
            good, rejected = read_new_applications(raw, "request", as_of)
        else:
            good, rejected = pd.DataFrame(), pd.DataFrame(columns=["row", "reason"])
        done = {int(line): r for line, r in zip(good.get("_line", []), screener.screen(good), strict=True)} \
            if len(good) else {}
        errors = {r["line"]: r for r in rejected_results(rejected)}
        results = [done.get(i) or errors[i] for i in range(1, n + 1)]
        flagged = [r["application_id"] for r in results if r.get("flagged")]
        rdb.append_audit(db, f"api:{token.client}", "api_screen", run,
                         {"token": token.id, "n": n, "rejected": len(errors), "flagged": flagged[:100]},
                         request.client.host if request.client else "")
        return {"index": {"run": run, "as_of": screener.index.meta["as_of"],
                          "applications": screener.index.meta["applications"]}, "results": results}

    return app
