"""Signing in and out (login rate limit, bounded password hashing, no session fixation)."""

from datetime import timedelta

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from review import db as rdb
from review.context import Refused, ReviewContext, client_ip, safe_next
from review.security import new_token, same_token, verify_password


def add_routes(r: FastAPI, ctx: ReviewContext) -> None:
    settings, Authed = ctx.settings, ctx.authed

    @r.get("/healthz")
    def healthz():
        return {"ok": True}

    @r.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/flagged", status_code=303)

    @r.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/flagged"):
        request.session.setdefault("pre_csrf", new_token())
        return ctx.render(request, "login.html", None, next=safe_next(next), error="")

    @r.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
              next: str = Form("/flagged")):
        if not same_token(request.session.get("pre_csrf"), csrf_token):
            raise Refused(403, "The login form's security token is missing or out of date. Reload the page.")
        ip = client_ip(request)
        username = username.strip()[:100]
        window = timedelta(seconds=settings.login_window_seconds)
        attempt = rdb.reserve_login(ctx.db, username, ip, window, settings.login_max_failures,
                                    session_max=timedelta(hours=settings.session_max_hours))
        if attempt is None:
            ctx.audit(username or "-", "login_blocked", username, {"reason": "rate limit"}, request)
            raise Refused(429, f"Too many failed logins for this user from your address: wait "
                               f"{settings.login_window_seconds // 60} minutes.")
        # Password hashing costs memory and CPU (argon2): at most login_concurrency at once, the
        # rest are turned away before hashing.
        if not ctx.hashing.acquire(timeout=settings.login_wait_seconds):
            ctx.audit(username or "-", "login_blocked", username, {"reason": "too many logins at once"}, request)
            raise Refused(503, "Too many logins at once: try again in a few seconds.")
        try:
            with ctx.db() as s:
                user = s.execute(select(rdb.User).where(rdb.User.name == username)).scalar_one_or_none()
            ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
        finally:
            ctx.hashing.release()
        if ok:
            rdb.settle_login(ctx.db, attempt)
        if not ok:
            ctx.audit(username or "-", "login_failed", username, {}, request)
            return ctx.render(request, "login.html", None, status=401, next=safe_next(next),
                              error="Unknown user name or wrong password.")
        sid, now = new_token(), rdb.iso(rdb.utcnow())
        with ctx.db() as s:
            s.add(rdb.UserSession(id=sid, user_id=user.id, csrf=new_token(), created_at=now, last_seen=now))
            s.commit()
        request.session.clear()  # a new session on login (no fixation)
        request.session["sid"] = sid
        ctx.audit(user.name, "login_ok", user.name, {"role": user.role}, request)
        return RedirectResponse(safe_next(next), status_code=303)

    @r.post("/logout")
    def logout(request: Request, user: Authed, csrf_token: str = Form("")):
        ctx.check_csrf(user, csrf_token)
        with ctx.db() as s:
            us = s.get(rdb.UserSession, user.sid)
            if us is not None:
                s.delete(us)
                s.commit()
        request.session.clear()
        ctx.audit(user.name, "logout", user.name, {}, request)
        return RedirectResponse("/login", status_code=303)
