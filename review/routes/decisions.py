"""Reviewers' decisions and the supervisors' second look (four eyes on any change to a D grade).
Each decision and its audit row are stored in one transaction (``review.db.audited``)."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from review import db as rdb
from review.context import MAX_COMMENT, AuthUser, Refused, ReviewContext, client_ip

# a decision number from the URL stays in the database's range (a huge one is a 422)
DecisionId = Annotated[int, PathParam(ge=1, le=2**62)]


def add_routes(r: FastAPI, ctx: ReviewContext) -> None:
    Authed, Supervisor = ctx.authed, ctx.supervisor

    @r.post("/decide")
    def decide(request: Request, user: Authed, key: str = Form(""), action: str = Form(""),
               comment: str = Form(""), csrf_token: str = Form("")):
        ctx.check_csrf(user, csrf_token)
        d = ctx.data()
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
        rdb.audited(ctx.db, user.name, "decision", key, client_ip(request), store)
        return RedirectResponse("/applicant?" + urlencode({"key": key, "done": status}), status_code=303)

    @r.get("/pending", response_class=HTMLResponse)
    def pending(request: Request, user: Authed):
        with ctx.db() as s:
            rows = s.execute(select(rdb.Decision).where(rdb.Decision.status.in_((rdb.Status.PENDING,
                                                                                 rdb.Status.ESCALATED)))
                             .order_by(rdb.Decision.id)).scalars().all()
            last = dict(s.execute(select(rdb.Decision.applicant_key, func.max(rdb.Decision.id))
                                  .group_by(rdb.Decision.applicant_key)).all())
        # an escalation is open until someone decides the applicant again
        rows = [row for row in rows if row.status == rdb.Status.PENDING or last.get(row.applicant_key) == row.id]
        return ctx.render(request, "pending.html", user, rows=rows)

    def supervise(request: Request, decision_id: int, approve: bool, comment: str, csrf_token: str,
                  user: AuthUser) -> Response:
        ctx.check_csrf(user, csrf_token)
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

        with ctx.db() as s:
            target = s.execute(select(rdb.Decision.applicant_key).where(rdb.Decision.id == decision_id)).scalar()
        dec = rdb.audited(ctx.db, user.name, "decision_approved" if approve else "decision_rejected", target or "",
                          client_ip(request), store)
        return RedirectResponse("/applicant?" + urlencode({"key": dec.applicant_key, "done": dec.status}),
                                status_code=303)

    @r.post("/decisions/{decision_id}/approve")
    def approve(request: Request, decision_id: DecisionId, user: Supervisor, comment: str = Form(""),
                csrf_token: str = Form("")):
        return supervise(request, decision_id, True, comment, csrf_token, user)

    @r.post("/decisions/{decision_id}/reject")
    def reject(request: Request, decision_id: DecisionId, user: Supervisor, comment: str = Form(""),
               csrf_token: str = Form("")):
        return supervise(request, decision_id, False, comment, csrf_token, user)
