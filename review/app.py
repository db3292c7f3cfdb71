"""The reviewer web app: FastAPI + server-rendered Jinja2 pages (autoescape on everywhere, no JavaScript).

``create_app(state, db_url=None, settings=None)`` builds the app for a state folder (see
:mod:`review.data`): the shared context (``review.context``), the security headers, the error pages
and one router per concern (``review.routes``). docs/review-app.md describes roles, pages and the
security measures; the numbers (rate limits, session lifetime, page sizes) are ``ReviewSettings``.
"""

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from review.context import HERE, NotLoggedIn, Refused, ReviewContext, ReviewSettings, session_secret
from review.routes import ROUTERS

__all__ = ["ReviewSettings", "create_app", "serve"]


def create_app(state: Path, db_url: str | None = None, settings: ReviewSettings | None = None) -> FastAPI:
    ctx = ReviewContext(state, db_url, settings or ReviewSettings())
    settings = ctx.settings
    app = FastAPI(title="tmscreen review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.db, app.state.engine, app.state.runs = settings, ctx.db, ctx.engine, ctx.runs
    app.add_middleware(SessionMiddleware, secret_key=session_secret(ctx.state, settings),
                       session_cookie="tmscreen_session", max_age=settings.session_max_hours * 3600, same_site="lax",
                       https_only=settings.https_only)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # No script runs on any page: even text that escaped escaping could not execute.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn):
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"detail": "login required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return ctx.render(request, "error.html", None, status=exc.status, message=exc.message, code=exc.status)

    for routes in ROUTERS:
        routes.add_routes(app, ctx)
    return app


def serve(state: Path, db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          settings: ReviewSettings | None = None) -> None:
    import uvicorn

    uvicorn.run(create_app(state, db_url, settings), host=host, port=port, proxy_headers=False,
                server_header=False, log_level="info")
