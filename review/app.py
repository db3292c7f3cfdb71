"""The reviewer web app: FastAPI + server-rendered Jinja2 pages (autoescape on everywhere, no JavaScript).

``create_app(state, db_url=None, settings=None)`` builds the app for a state folder (see
:mod:`review.data`). docs/review-app.md describes roles, pages and the security measures; the
numbers below (rate limits, session lifetime, page sizes) are the documented defaults.
"""


import math
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import jinja2
import pandas as pd
from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates

from review import db as rdb
from review.data import DIMENSION_THRESHOLD, DIMENSIONS, SORTS, RunCache, StateError, grade_history, group_svg
from review.labels import label_rows, labels_csv
from review.security import SlidingWindow, new_token, same_token, verify_password

HERE = Path(__file__).resolve().parent
RANK = {"reviewer": 0, "supervisor": 1, "admin": 2}
ACTION_LABELS = {"confirm": "Confirm", "dismiss": "Dismiss", "escalate": "Escalate",
                 "repair": "Request credit repair"}
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


def _secret(state: Path, settings: ReviewSettings) -> str:
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


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(url: str | None) -> str:
    """Only same-site paths (no scheme, no //host, no backslashes): no open redirect after login."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/flagged"
    return url


def _fmt(v, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "" if math.isnan(f) else f"{f:.{digits}f}"


def create_app(state: Path, db_url: str | None = None, settings: ReviewSettings | None = None) -> FastAPI:
    state = Path(state)
    settings = settings or ReviewSettings()
    state.mkdir(parents=True, exist_ok=True)
    url = db_url or rdb.default_db_url(state)
    engine = rdb.make_engine(url)
    db = rdb.make_sessionmaker(engine, anchor=rdb.anchor_path(url, state))
    runs = RunCache(state)
    page_limiter = SlidingWindow(settings.pages_per_minute, 60)
    hashing = threading.BoundedSemaphore(settings.login_concurrency)

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = _fmt
    templates = Jinja2Templates(env=env)

    app = FastAPI(title="tmscreen review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.db, app.state.engine, app.state.runs = settings, db, engine, runs
    app.add_middleware(SessionMiddleware, secret_key=_secret(state, settings), session_cookie="tmscreen_session",
                       max_age=settings.session_max_hours * 3600, same_site="lax", https_only=settings.https_only)
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

    # ------------------------------------------------------------------ helpers
    def audit(actor: str, action: str, target: str = "", details: dict | None = None, request: Request | None = None):
        rdb.append_audit(db, actor, action, target, details, ip=_client_ip(request) if request else "")

    def render(request: Request, name: str, user: AuthUser | None, status: int = 200, **ctx) -> HTMLResponse:
        csrf = user.csrf if user else request.session.get("pre_csrf", "")
        return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf, "settings": settings, **ctx},
                                          status_code=status)

    def current_user(request: Request) -> AuthUser:
        sid = request.session.get("sid")
        if not sid:
            raise NotLoggedIn()
        now = rdb.utcnow()
        with db() as s:
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
        if not page_limiter.hit(auth.name):
            raise Refused(429, f"Too many requests: at most {settings.pages_per_minute} pages per minute. "
                               "Slow down and try again in a minute.")
        return auth

    def require(role: str):
        def dep(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
            if not user.at_least(role):
                raise Refused(403, f"This needs the {role} role; you are signed in as {user.role}.")
            return user
        return dep

    Authed = Annotated[AuthUser, Depends(current_user)]
    # numbers from the URL stay in the database's range (a huge one is a 422, not a server error)
    DecisionId = Annotated[int, PathParam(ge=1, le=2**62)]
    PageNumber = Annotated[int, Query(ge=1, le=10**6)]
    Supervisor = Annotated[AuthUser, Depends(require("supervisor"))]

    def check_csrf(user: AuthUser, token: str) -> None:
        if not same_token(user.csrf, token):
            raise Refused(403, "The form's security token is missing or out of date. Reload the page and try again.")

    def data():
        try:
            return runs.get()
        except StateError as exc:
            raise Refused(503, str(exc)) from exc

    def export_allowed(user: AuthUser) -> None:
        if not rdb.take_quota(db, user.name, "export", 1, settings.exports_per_day):
            raise Refused(429, f"Export limit reached: at most {settings.exports_per_day} exports per day.")

    def read_allowed(user: AuthUser, n: int) -> None:
        """Count ``n`` applicants shown against the user's daily reading volume (anti-harvesting)."""
        if n and not rdb.take_quota(db, user.name, "rows", n, settings.rows_per_day):
            raise Refused(429, f"Daily reading limit reached: at most {settings.rows_per_day} applicants shown per "
                               "day. Ask a supervisor if your work needs more.")

    def check_unflagged(user: AuthUser, unflagged: bool) -> None:
        if unflagged and not user.at_least("supervisor"):
            raise Refused(403, "Unflagged applicants are shown to supervisors only.")

    def latest_decisions(keys: list[str]) -> dict[str, rdb.Decision]:
        if not keys:
            return {}
        out: dict[str, rdb.Decision] = {}
        with db() as s:
            for d in s.execute(select(rdb.Decision).where(rdb.Decision.applicant_key.in_(keys))
                               .order_by(rdb.Decision.id)).scalars():
                out[d.applicant_key] = d
        return out

    # ------------------------------------------------------------------ errors
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
        return render(request, "error.html", None, status=exc.status, message=exc.message, code=exc.status)

    # ------------------------------------------------------------------ login / logout
    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/flagged", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/flagged"):
        request.session.setdefault("pre_csrf", new_token())
        return render(request, "login.html", None, next=_safe_next(next), error="")

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
              next: str = Form("/flagged")):
        if not same_token(request.session.get("pre_csrf"), csrf_token):
            raise Refused(403, "The login form's security token is missing or out of date. Reload the page.")
        ip = _client_ip(request)
        username = username.strip()[:100]
        window = timedelta(seconds=settings.login_window_seconds)
        attempt = rdb.reserve_login(db, username, ip, window, settings.login_max_failures,
                                    session_max=timedelta(hours=settings.session_max_hours))
        if attempt is None:
            audit(username or "-", "login_blocked", username, {"reason": "rate limit"}, request)
            raise Refused(429, f"Too many failed logins for this user from your address: wait "
                               f"{settings.login_window_seconds // 60} minutes.")
        # Password hashing costs memory and CPU (argon2): at most login_concurrency at once, the
        # rest are turned away before hashing.
        if not hashing.acquire(timeout=settings.login_wait_seconds):
            audit(username or "-", "login_blocked", username, {"reason": "too many logins at once"}, request)
            raise Refused(503, "Too many logins at once: try again in a few seconds.")
        try:
            with db() as s:
                user = s.execute(select(rdb.User).where(rdb.User.name == username)).scalar_one_or_none()
            ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
        finally:
            hashing.release()
        if ok:
            rdb.settle_login(db, attempt)
        if not ok:
            audit(username or "-", "login_failed", username, {}, request)
            return render(request, "login.html", None, status=401, next=_safe_next(next),
                          error="Unknown user name or wrong password.")
        sid, now = new_token(), rdb.iso(rdb.utcnow())
        with db() as s:
            s.add(rdb.UserSession(id=sid, user_id=user.id, csrf=new_token(), created_at=now, last_seen=now))
            s.commit()
        request.session.clear()  # a new session on login (no fixation)
        request.session["sid"] = sid
        audit(user.name, "login_ok", user.name, {"role": user.role}, request)
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request, user: Authed, csrf_token: str = Form("")):
        check_csrf(user, csrf_token)
        with db() as s:
            us = s.get(rdb.UserSession, user.sid)
            if us is not None:
                s.delete(us)
                s.commit()
        request.session.clear()
        audit(user.name, "logout", user.name, {}, request)
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------------ flagged list
    def list_params(request: Request) -> dict:
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

    def filtered(p: dict):
        d = data()
        desc = None if not p["order"] else p["order"] == "desc"
        return d, d.filter_applicants(flagged_only=not p["all"], grade=p["grade"], dimension=p["dimension"],
                                      reason=p["reason"], country=p["country"], agent=p["agent"],
                                      date_from=p["date_from"], date_to=p["date_to"], q=p["q"], sort=p["sort"],
                                      desc=desc)

    def shown(request: Request, user: AuthUser, p: dict, chunk, what: str) -> None:
        """Reading is counted and audited: which applicants a user saw on which list page."""
        keys = chunk["applicant_key"].astype("str").tolist()
        read_allowed(user, len(keys))
        audit(user.name, what, "", {"page": p["page"], "filters": {k: v for k, v in p.items() if v and k != "page"},
                                    "keys": keys}, request)

    @app.get("/flagged", response_class=HTMLResponse)
    def flagged(request: Request, user: Authed):
        p = list_params(request)
        check_unflagged(user, bool(p["all"]))
        d, rows = filtered(p)
        total = len(rows)
        pages = max(1, math.ceil(total / p["per_page"]))
        page = min(p["page"], pages)
        p["page"] = page
        chunk = rows.iloc[(page - 1) * p["per_page"]: page * p["per_page"]]
        shown(request, user, p, chunk, "view_list")
        items = chunk.to_dict("records")
        decided = latest_decisions([r["applicant_key"] for r in items])
        base = {k: v for k, v in p.items() if v and k not in ("page",)}

        def qs(**over) -> str:
            return "?" + urlencode({**base, **{k: v for k, v in over.items() if v}})

        return render(request, "list.html", user, run=d, items=items, total=total, page=page, pages=pages, p=p,
                      qs=qs, decided=decided, dimensions=DIMENSIONS, threshold=DIMENSION_THRESHOLD,
                      countries=d.countries(), reasons=d.reason_codes(), sorts=list(SORTS),
                      agent_available=d.dataset_apps is not None)

    @app.get("/applications", response_class=HTMLResponse)
    def applications(request: Request, user: Authed, q: str = "", page: PageNumber = 1):
        """The examiner's list: applications whose own evidence reaches the flag threshold, riskiest
        first, whoever filed them."""
        d = data()
        rows = d.flagged_applications(q.strip()[:200])
        per_page = settings.page_size
        pages = max(1, math.ceil(len(rows) / per_page))
        page = min(max(1, page), pages)
        items = rows.iloc[(page - 1) * per_page: page * per_page].to_dict("records")
        read_allowed(user, len(items))
        audit(user.name, "view_applications", "", {"page": page, "q": q[:200], "shown": len(items)}, request)
        return render(request, "applications.html", user, run=d, items=items, total=len(rows), page=page,
                      pages=pages, q=q, qs=lambda **over: "?" + urlencode({"q": q, **over}))

    @app.get("/api/flagged")
    def api_flagged(request: Request, user: Authed):
        p = list_params(request)
        check_unflagged(user, bool(p["all"]))
        d, rows = filtered(p)
        chunk = rows.iloc[(p["page"] - 1) * p["per_page"]: p["page"] * p["per_page"]]
        shown(request, user, p, chunk, "view_list")
        cols = ["applicant_key", "applicant_name", "grade", "points", "risk_score", *DIMENSIONS, "n_applications",
                "applicant_country", "flagged"]
        items = [{c: (r[c].item() if hasattr(r[c], "item") else r[c]) for c in cols} for r in chunk.to_dict("records")]
        return {"as_of": d.as_of, "total": len(rows), "page": p["page"], "per_page": p["per_page"], "items": items}

    # ------------------------------------------------------------------ credit file
    def credit_file(key: str, all_apps: bool = False) -> dict:
        d = data()
        row = d.applicant(key)
        if row is None:
            raise Refused(404, "No applicant with this key in the latest run.")
        names = [str(n) for n in row["names"]] or [row["applicant_name"]]
        limit = settings.max_applications_shown if all_apps else min(settings.applications_first,
                                                                        settings.max_applications_shown)
        apps, n_apps = d.applications_of(key, limit)
        group = d.group_of(row["group_id"])
        graph = None
        if group is not None and group["size"] > 1:
            graph = group_svg(group["member_rows"], d.group_edges([m["applicant_key"] for m in group["member_rows"]]),
                              key)
        with db() as s:
            decisions = s.execute(select(rdb.Decision).where(rdb.Decision.applicant_key == key)
                                  .order_by(rdb.Decision.id.desc())).scalars().all()
        ev = d.evidence_of(key)
        return {"run": d, "a": row, "names": names, "applications": apps, "n_applications": n_apps,
                "group": group, "graph": graph, "flags": d.flags_of(key),
                "infringement": [e for e in ev if e.get("dimension") == "infringement"],
                "squatting": [e for e in ev if e.get("dimension") == "squatting"],
                "other_evidence": [e for e in ev if e.get("dimension") not in ("infringement", "squatting")],
                "transfers": d.transfers_of(key, names), "legal": d.decisions_of(names), "agents": d.agents_of(key),
                "history": grade_history(state, key, d), "decisions": decisions}

    @app.get("/applicant", response_class=HTMLResponse)
    def applicant(request: Request, user: Authed, key: str = "", apps: str = ""):
        cf = credit_file(key, all_apps=apps == "all")
        check_unflagged(user, not bool(cf["a"]["flagged"]))
        read_allowed(user, 1)
        audit(user.name, "view_applicant", key, {"run": cf["run"].as_of}, request)
        return render(request, "applicant.html", user, actions=ACTION_LABELS, dimensions=DIMENSIONS,
                      threshold=DIMENSION_THRESHOLD, all_apps=apps == "all", **cf)

    @app.get("/api/group")
    def api_group(user: Authed, group_id: str = ""):
        d = data()
        group = d.group_of(group_id)
        if group is None:
            raise Refused(404, "no such group")
        members = [m["applicant_key"] for m in group["member_rows"]]
        edges = d.group_edges(members)
        return {"group_id": group_id, "nodes": group["member_rows"],
                "links": [{"source": r.a, "target": r.b, "link": r.link, "strong": bool(r.strong),
                           "evidence": r.evidence} for r in edges.itertuples(index=False)]}

    # ------------------------------------------------------------------ decisions
    @app.post("/decide")
    def decide(request: Request, user: Authed, key: str = Form(""), action: str = Form(""),
               comment: str = Form(""), csrf_token: str = Form("")):
        check_csrf(user, csrf_token)
        d = data()
        row = d.applicant(key)
        if row is None:
            raise Refused(404, "No applicant with this key in the latest run.")
        if action not in rdb.ACTIONS:
            raise Refused(400, f"action must be one of {', '.join(rdb.ACTIONS)}")
        comment = comment.strip()
        if not comment:
            raise Refused(400, "Every decision needs a comment saying why.")
        if len(comment) > MAX_COMMENT:
            raise Refused(400, f"The comment is too long (at most {MAX_COMMENT} characters).")
        supervisor = user.at_least("supervisor")
        # Four eyes: any change to a D grade (confirming, dismissing, repairing it) needs a second
        # person, whoever asks; a supervisor's own repair of a lower grade takes effect at once.
        if action == "escalate":
            status = rdb.Status.ESCALATED
        elif row["grade"] == "D":
            status = rdb.Status.PENDING
        elif action == "repair":
            status = rdb.Status.APPROVED if supervisor else rdb.Status.PENDING
        else:
            status = rdb.Status.FINAL
        now = rdb.iso(rdb.utcnow())
        approved_now = status == rdb.Status.APPROVED

        def store(s):
            dec = rdb.Decision(applicant_key=key, applicant_name=str(row["applicant_name"]), run_as_of=d.as_of,
                               grade=str(row["grade"]), action=action, status=status, comment=comment,
                               reviewer=user.name, decided_at=now, supervisor=user.name if approved_now else "",
                               supervised_at=now if approved_now else "")
            s.add(dec)
            return dec, lambda: {"decision_id": dec.id, "action": action, "status": status, "grade": dec.grade,
                                 "run": d.as_of, "comment": comment}

        # the decision and its audit row in one transaction (an approved repair is such a decision:
        # the batch reads repairs from this database)
        rdb.audited(db, user.name, "decision", key, _client_ip(request), store)
        return RedirectResponse("/applicant?" + urlencode({"key": key, "done": status}), status_code=303)

    @app.get("/pending", response_class=HTMLResponse)
    def pending(request: Request, user: Authed):
        with db() as s:
            rows = s.execute(select(rdb.Decision).where(rdb.Decision.status.in_((rdb.Status.PENDING, rdb.Status.ESCALATED)))
                             .order_by(rdb.Decision.id)).scalars().all()
            last = dict(s.execute(select(rdb.Decision.applicant_key, func.max(rdb.Decision.id))
                                  .group_by(rdb.Decision.applicant_key)).all())
        # an escalation is open until someone decides the applicant again
        rows = [r for r in rows if r.status == rdb.Status.PENDING or last.get(r.applicant_key) == r.id]
        return render(request, "pending.html", user, rows=rows)

    def supervise(request: Request, decision_id: int, approve: bool, comment: str, csrf_token: str,
                  user: AuthUser) -> Response:
        check_csrf(user, csrf_token)
        comment = comment.strip()
        if not comment or len(comment) > MAX_COMMENT:
            raise Refused(400, f"A supervisor's decision needs a comment (1-{MAX_COMMENT} characters).")
        status = rdb.Status.APPROVED if approve else rdb.Status.REJECTED

        def store(s):
            dec = s.get(rdb.Decision, decision_id)
            if dec is None or dec.status != rdb.Status.PENDING:
                raise Refused(409, "This decision is not waiting for a supervisor.")
            if dec.reviewer == user.name:
                raise Refused(403, "A decision needs a second person: you cannot approve your own.")
            dec.status = status
            dec.supervisor, dec.supervisor_comment, dec.supervised_at = user.name, comment, rdb.iso(rdb.utcnow())
            return dec, {"decision_id": dec.id, "action": dec.action, "status": status, "comment": comment}

        with db() as s:
            target = s.execute(select(rdb.Decision.applicant_key).where(rdb.Decision.id == decision_id)).scalar()
        dec = rdb.audited(db, user.name, "decision_approved" if approve else "decision_rejected", target or "",
                          _client_ip(request), store)
        return RedirectResponse("/applicant?" + urlencode({"key": dec.applicant_key, "done": dec.status}),
                                status_code=303)

    @app.post("/decisions/{decision_id}/approve")
    def approve(request: Request, decision_id: DecisionId, user: Supervisor, comment: str = Form(""),
                csrf_token: str = Form("")):
        return supervise(request, decision_id, True, comment, csrf_token, user)

    @app.post("/decisions/{decision_id}/reject")
    def reject(request: Request, decision_id: DecisionId, user: Supervisor, comment: str = Form(""),
               csrf_token: str = Form("")):
        return supervise(request, decision_id, False, comment, csrf_token, user)

    # ------------------------------------------------------------------ exports
    @app.post("/export/flagged.csv")
    def export_flagged(request: Request, user: Supervisor, csrf_token: str = Form("")):
        check_csrf(user, csrf_token)
        export_allowed(user)
        p = list_params(request)  # filters travel in the query string of the form's action
        d, rows = filtered(p)
        cols = ["applicant_key", "applicant_name", "grade", "points", "risk_score", *DIMENSIONS, "n_applications",
                "applicant_country", "reasons"]
        out = rows[cols].copy()
        from pipeline.runio import neutralise_formulas

        body = "\ufeff" + neutralise_formulas(out).to_csv(index=False)
        audit(user.name, "export", "flagged.csv", {"rows": len(out), "filters": {k: v for k, v in p.items() if v},
                                                    "run": d.as_of}, request)
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="flagged-{d.as_of}.csv"'})

    @app.post("/export/labels.csv")
    def export_labels(request: Request, user: Supervisor, csrf_token: str = Form("")):
        check_csrf(user, csrf_token)
        export_allowed(user)
        rows = label_rows(db)
        audit(user.name, "export", "labels.csv", {"rows": len(rows)}, request)
        return Response(labels_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="labels.csv"'})

    # ------------------------------------------------------------------ filing agents
    @app.get("/agents", response_class=HTMLResponse)
    def agents_page(request: Request, user: Authed, abnormal: str = "", page: PageNumber = 1):
        d = data()
        rows = d.agents if d.agents is not None else pd.DataFrame(columns=["abnormal"])
        if abnormal == "1":
            rows = rows[rows["abnormal"]]
        per_page = settings.page_size
        pages = max(1, math.ceil(len(rows) / per_page))
        page = min(page, pages)
        items = rows.iloc[(page - 1) * per_page: page * per_page].to_dict("records")
        audit(user.name, "view_agents", "", {"page": page, "abnormal": abnormal == "1", "shown": len(items)}, request)
        return render(request, "agents.html", user, run=d, items=items, total=len(rows), page=page, pages=pages,
                      available=d.agents is not None, abnormal=abnormal == "1",
                      qs=lambda **over: "?" + urlencode({"abnormal": "1" if abnormal == "1" else "", **over}))

    # ------------------------------------------------------------------ overview
    @app.get("/overview", response_class=HTMLResponse)
    def overview_page(request: Request, user: Supervisor):
        from review.overview import overview

        d = data()
        audit(user.name, "view_overview", "", {"run": d.as_of}, request)
        return render(request, "overview.html", user, run=d, **overview(state, d))

    # ------------------------------------------------------------------ audit view
    @app.get("/audit", response_class=HTMLResponse)
    def audit_view(request: Request, user: Supervisor, actor: str = "", action: str = "", page: PageNumber = 1,
                   verify: str = ""):
        per = settings.audit_page_size
        page = max(1, page)
        with db() as s:
            qry = select(rdb.AuditRow)
            if actor:
                qry = qry.where(rdb.AuditRow.actor == actor)
            if action:
                qry = qry.where(rdb.AuditRow.action == action)
            rows = s.execute(qry.order_by(rdb.AuditRow.seq.desc()).offset((page - 1) * per).limit(per + 1)
                             ).scalars().all()
        check = rdb.verify_audit(db) if verify else None
        base = {k: v for k, v in {"actor": actor, "action": action}.items() if v}
        return render(request, "audit.html", user, rows=rows[:per], page=page, has_next=len(rows) > per,
                      actor=actor, action=action, check=check, qs=lambda **o: "?" + urlencode({**base, **o}))

    return app


def serve(state: Path, db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          settings: ReviewSettings | None = None) -> None:
    import uvicorn

    uvicorn.run(create_app(state, db_url, settings), host=host, port=port, proxy_headers=False,
                server_header=False, log_level="info")
