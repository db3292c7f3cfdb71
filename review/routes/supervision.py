"""Supervisors' tools: CSV exports (limited per day, audited) and the audit view with its check."""

from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from review import db as rdb
from review.context import ReviewContext
from review.data import DIMENSIONS
from review.labels import label_rows, labels_csv
from review.routes.lists import PageNumber


def add_routes(r: FastAPI, ctx: ReviewContext) -> None:
    Supervisor = ctx.supervisor

    @r.post("/export/flagged.csv")
    def export_flagged(request: Request, user: Supervisor, csrf_token: str = Form("")):
        ctx.check_csrf(user, csrf_token)
        ctx.export_allowed(user)
        p = ctx.list_params(request)  # filters travel in the query string of the form's action
        d, rows = ctx.filtered(p)
        cols = ["applicant_key", "applicant_name", "grade", "points", "risk_score", *DIMENSIONS, "n_applications",
                "applicant_country", "reasons"]
        out = rows[cols].copy()
        from pipeline.runio import neutralise_formulas

        body = "\ufeff" + neutralise_formulas(out).to_csv(index=False)
        ctx.audit(user.name, "export", "flagged.csv", {"rows": len(out), "filters": {k: v for k, v in p.items() if v},
                                                        "run": d.as_of}, request)
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="flagged-{d.as_of}.csv"'})

    @r.post("/export/labels.csv")
    def export_labels(request: Request, user: Supervisor, csrf_token: str = Form("")):
        ctx.check_csrf(user, csrf_token)
        ctx.export_allowed(user)
        rows = label_rows(ctx.db)
        ctx.audit(user.name, "export", "labels.csv", {"rows": len(rows)}, request)
        return Response(labels_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="labels.csv"'})

    @r.get("/audit", response_class=HTMLResponse)
    def audit_view(request: Request, user: Supervisor, actor: str = "", action: str = "", page: PageNumber = 1,
                   verify: str = ""):
        per = ctx.settings.audit_page_size
        page = max(1, page)
        with ctx.db() as s:
            qry = select(rdb.AuditRow)
            if actor:
                qry = qry.where(rdb.AuditRow.actor == actor)
            if action:
                qry = qry.where(rdb.AuditRow.action == action)
            rows = s.execute(qry.order_by(rdb.AuditRow.seq.desc()).offset((page - 1) * per).limit(per + 1)
                             ).scalars().all()
        check = rdb.verify_audit(ctx.db) if verify else None
        base = {k: v for k, v in {"actor": actor, "action": action}.items() if v}
        return ctx.render(request, "audit.html", user, rows=rows[:per], page=page, has_next=len(rows) > per,
                          actor=actor, action=action, check=check, qs=lambda **o: "?" + urlencode({**base, **o}))
