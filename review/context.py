"""What every page of the review app shares: settings, the database, the latest run, templates,
the signed-in user, permission checks, quotas and the audit trail (``ReviewContext``).

The routers (``review.routes``) receive one context and read as the pages they serve.
"""

import math
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.templating import Jinja2Templates

from review import db as rdb
from review.data import SORTS, RunCache, StateError
from review.security import SlidingWindow, same_token

HERE = Path(__file__).resolve().parent
RANK = {"reviewer": 0, "supervisor": 1, "admin": 2}
MAX_COMMENT = 2000


@dataclass
class ReviewSettings:
    """Security and anti-harvesting limits (defaults documented in docs/review-app.md).

    secret_key: signs the session cookie. Default: env ``TMSCREEN_REVIEW_SECRET``, else a random key
        kept in ``STATE/review.secret`` (created with mode 0600 on first start).
    https_only: mark the cookie ``Secure`` (set it when the app is served over TLS).
    session_idle_minutes / session_max_hours: a session ends after this much inactivity / age.
    login_max_failures / login_window_seconds: failed logins allowed per user name + IP per window;
        further attempts (even with the right password) get HTTP 429 until the window passes. An
        attempt counts before its password is checked, so concurrent attempts cannot overrun the limit.
    login_concurrency / login_wait_seconds: passwords checked at once (argon2 needs memory and CPU);
        an attempt that waits longer for a slot gets HTTP 503 without being hashed.
    pages_per_minute: authenticated requests per user per minute (HTTP 429 above; anti-harvesting).
    exports_per_day: CSV exports per user per UTC day (a supervisor action).
    rows_per_day: applicants shown per user per UTC day, on list pages, the API and credit files.
    page_size / max_page_size: rows per page of the flagged list (users may ask up to max_page_size).
    applications_first / max_applications_shown: applications listed on a credit file at first / at most
        (after "show more").
    audit_page_size: rows per page of the audit view.
    """

    secret_key: str | None = None
    https_only: bool = False
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_window_seconds: int = 300
    login_concurrency: int = 2
    login_wait_seconds: float = 5.0
    rows_per_day: int = 2000
    pages_per_minute: int = 120
    exports_per_day: int = 5
    page_size: int = 25
    max_page_size: int = 100
    applications_first: int = 25
    max_applications_shown: int = 500
    audit_page_size: int = 50


@dataclass
class AuthUser:
    id: int
    name: str
    role: str
    sid: str
    csrf: str

    def at_least(self, role: str) -> bool:
        return RANK.get(self.role, -1) >= RANK[role]


class NotLoggedIn(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def session_secret(state: Path, settings: ReviewSettings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if os.environ.get("TMSCREEN_REVIEW_SECRET"):
        return os.environ["TMSCREEN_REVIEW_SECRET"]
    path = Path(state) / "review.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(url: str | None) -> str:
    """Only same-site paths (no scheme, no //host, no backslashes): no open redirect after login."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/flagged"
    return url


def fmt_number(v, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "" if math.isnan(f) else f"{f:.{digits}f}"


class ReviewContext:
    """The app's shared state and the helpers its pages call (one per app)."""

    def __init__(self, state: Path, db_url: str | None, settings: ReviewSettings):
        self.state, self.settings = Path(state), settings
        self.state.mkdir(parents=True, exist_ok=True)
        url = db_url or rdb.default_db_url(self.state)
        self.engine = rdb.make_engine(url)
        self.db = rdb.make_sessionmaker(self.engine, anchor=rdb.anchor_path(url, self.state))
        self.runs = RunCache(self.state)
        self.page_limiter = SlidingWindow(settings.pages_per_minute, 60)
        self.hashing = threading.BoundedSemaphore(settings.login_concurrency)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                 undefined=jinja2.StrictUndefined)
        env.filters["fmt"] = fmt_number
        self.templates = Jinja2Templates(env=env)
        # the signed-in user of a request, and the same with at least the supervisor role
        self.authed = Annotated[AuthUser, Depends(self.current_user)]
        self.supervisor = Annotated[AuthUser, Depends(self.require("supervisor"))]

    def audit(self, actor: str, action: str, target: str = "", details: dict | None = None,
              request: Request | None = None) -> None:
        rdb.append_audit(self.db, actor, action, target, details, ip=client_ip(request) if request else "")

    def render(self, request: Request, name: str, user: AuthUser | None, status: int = 200, **ctx) -> HTMLResponse:
        csrf = user.csrf if user else request.session.get("pre_csrf", "")
        return self.templates.TemplateResponse(request, name, {"user": user, "csrf": csrf, "settings": self.settings,
                                                               **ctx}, status_code=status)

    def current_user(self, request: Request) -> AuthUser:
        settings = self.settings
        sid = request.session.get("sid")
        if not sid:
            raise NotLoggedIn()
        now = rdb.utcnow()
        with self.db() as s:
            us = s.get(rdb.UserSession, sid)
            user = s.get(rdb.User, us.user_id) if us else None
            expired = us is not None and (
                datetime.fromisoformat(us.last_seen.replace("Z", "+00:00")) < now - timedelta(
                    minutes=settings.session_idle_minutes)
                or datetime.fromisoformat(us.created_at.replace("Z", "+00:00")) < now - timedelta(
                    hours=settings.session_max_hours))
            if us is None or user is None or not user.active or expired:
                if us is not None:
                    s.delete(us)
                    s.commit()
                request.session.clear()
                raise NotLoggedIn()
            us.last_seen = rdb.iso(now)
            s.commit()
            auth = AuthUser(id=user.id, name=user.name, role=user.role, sid=us.id, csrf=us.csrf)
        if not self.page_limiter.hit(auth.name):
            raise Refused(429, f"Too many requests: at most {settings.pages_per_minute} pages per minute. "
                               "Slow down and try again in a minute.")
        return auth

    def require(self, role: str):
        def dep(user: Annotated[AuthUser, Depends(self.current_user)]) -> AuthUser:
            if not user.at_least(role):
                raise Refused(403, f"This needs the {role} role; you are signed in as {user.role}.")
            return user
        return dep

    def check_csrf(self, user: AuthUser, token: str) -> None:
        if not same_token(user.csrf, token):
            raise Refused(403, "The form's security token is missing or out of date. Reload the page and try again.")

    def data(self):
        try:
            return self.runs.get()
        except StateError as exc:
            raise Refused(503, str(exc)) from exc

    def export_allowed(self, user: AuthUser) -> None:
        if not rdb.take_quota(self.db, user.name, "export", 1, self.settings.exports_per_day):
            raise Refused(429, f"Export limit reached: at most {self.settings.exports_per_day} exports per day.")

    def read_allowed(self, user: AuthUser, n: int) -> None:
        """Count ``n`` applicants shown against the user's daily reading volume (anti-harvesting)."""
        if n and not rdb.take_quota(self.db, user.name, "rows", n, self.settings.rows_per_day):
            raise Refused(429, f"Daily reading limit reached: at most {self.settings.rows_per_day} applicants "
                               "shown per day. Ask a supervisor if your work needs more.")

    def check_unflagged(self, user: AuthUser, unflagged: bool) -> None:
        if unflagged and not user.at_least("supervisor"):
            raise Refused(403, "Unflagged applicants are shown to supervisors only.")

    def latest_decisions(self, keys: list[str]) -> dict[str, rdb.Decision]:
        if not keys:
            return {}
        out: dict[str, rdb.Decision] = {}
        with self.db() as s:
            for d in s.execute(select(rdb.Decision).where(rdb.Decision.applicant_key.in_(keys))
                               .order_by(rdb.Decision.id)).scalars():
                out[d.applicant_key] = d
        return out

    # ---- the flagged list's filters (query string), shared by the page, its API and the export
    def list_params(self, request: Request) -> dict:
        settings = self.settings
        q = request.query_params
        p = {k: q.get(k, "").strip()[:200] for k in ("grade", "dimension", "reason", "country", "agent", "date_from",
                                                      "date_to", "q", "sort", "order")}
        p["all"] = "1" if q.get("all") == "1" else ""
        for k in ("date_from", "date_to"):
            try:
                if p[k]:
                    datetime.strptime(p[k], "%Y-%m-%d")
            except ValueError:
                p[k] = ""
        if p["grade"] and (any(c not in "ABCD" for c in p["grade"])):
            p["grade"] = ""
        if p["sort"] not in SORTS:
            p["sort"] = "risk"
        if p["order"] not in ("asc", "desc"):
            p["order"] = ""
        try:
            p["page"] = min(10**6, max(1, int(q.get("page", "1"))))
        except ValueError:
            p["page"] = 1
        try:
            p["per_page"] = min(settings.max_page_size, max(1, int(q.get("per_page", settings.page_size))))
        except ValueError:
            p["per_page"] = settings.page_size
        return p

    def filtered(self, p: dict):
        d = self.data()
        desc = None if not p["order"] else p["order"] == "desc"
        return d, d.filter_applicants(flagged_only=not p["all"], grade=p["grade"], dimension=p["dimension"],
                                      reason=p["reason"], country=p["country"], agent=p["agent"],
                                      date_from=p["date_from"], date_to=p["date_to"], q=p["q"], sort=p["sort"],
                                      desc=desc)

    def shown(self, request: Request, user: AuthUser, p: dict, chunk, what: str) -> None:
        """Reading is counted and audited: which applicants a user saw on which list page."""
        keys = chunk["applicant_key"].astype("str").tolist()
        self.read_allowed(user, len(keys))
        self.audit(user.name, what, "", {"page": p["page"], "filters": {k: v for k, v in p.items()
                                                                         if v and k != "page"},
                                         "keys": keys}, request)


def pages_of(total: int, per_page: int, page: int) -> tuple[int, int]:
    """(number of pages, the page asked for within them)."""
    pages = max(1, math.ceil(total / per_page))
    return pages, min(max(1, page), pages)
