"""An applicant's credit file: scores, evidence, applications, its related-party group (page and
graph API), transfers, decisions and grade history."""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from review import db as rdb
from review.context import Refused, ReviewContext
from review.data import DIMENSION_THRESHOLD, DIMENSIONS, grade_history, group_svg

ACTION_LABELS = {"confirm": "Confirm", "dismiss": "Dismiss", "escalate": "Escalate",
                 "repair": "Request credit repair"}


def credit_file(ctx: ReviewContext, key: str, all_apps: bool = False) -> dict:
    """Everything the credit file page shows of applicant ``key`` in the latest run."""
    settings = ctx.settings
    d = ctx.data()
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
    with ctx.db() as s:
        decisions = s.execute(select(rdb.Decision).where(rdb.Decision.applicant_key == key)
                              .order_by(rdb.Decision.id.desc())).scalars().all()
    ev = d.evidence_of(key)
    return {"run": d, "a": row, "names": names, "applications": apps, "n_applications": n_apps,
            "group": group, "graph": graph, "flags": d.flags_of(key),
            "infringement": [e for e in ev if e.get("dimension") == "infringement"],
            "squatting": [e for e in ev if e.get("dimension") == "squatting"],
            "other_evidence": [e for e in ev if e.get("dimension") not in ("infringement", "squatting")],
            "transfers": d.transfers_of(key, names), "legal": d.decisions_of(names), "agents": d.agents_of(key),
            "history": grade_history(ctx.state, key, d), "decisions": decisions}


def add_routes(r: FastAPI, ctx: ReviewContext) -> None:
    Authed = ctx.authed

    @r.get("/applicant", response_class=HTMLResponse)
    def applicant(request: Request, user: Authed, key: str = "", apps: str = ""):
        cf = credit_file(ctx, key, all_apps=apps == "all")
        ctx.check_unflagged(user, not bool(cf["a"]["flagged"]))
        ctx.read_allowed(user, 1)
        ctx.audit(user.name, "view_applicant", key, {"run": cf["run"].as_of}, request)
        return ctx.render(request, "applicant.html", user, actions=ACTION_LABELS, dimensions=DIMENSIONS,
                          threshold=DIMENSION_THRESHOLD, all_apps=apps == "all", **cf)

    @r.get("/api/group")
    def api_group(user: Authed, group_id: str = ""):
        d = ctx.data()
        group = d.group_of(group_id)
        if group is None:
            raise Refused(404, "no such group")
        members = [m["applicant_key"] for m in group["member_rows"]]
        edges = d.group_edges(members)
        return {"group_id": group_id, "nodes": group["member_rows"],
                "links": [{"source": e.a, "target": e.b, "link": e.link, "strong": bool(e.strong),
                           "evidence": e.evidence} for e in edges.itertuples(index=False)]}
