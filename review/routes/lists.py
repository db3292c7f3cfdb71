"""The lists: flagged applicants (page and JSON API), flagged applications, filing agents, and the
supervisors' overview. Every list counts the applicants it shows against the reader's daily volume
and is audited."""

from typing import Annotated
from urllib.parse import urlencode

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from review.context import ReviewContext, pages_of
from review.data import DIMENSION_THRESHOLD, DIMENSIONS, SORTS

# a page number from the URL stays in range (a huge one is a 422, not a server error)
PageNumber = Annotated[int, Query(ge=1, le=10**6)]


def add_routes(r: FastAPI, ctx: ReviewContext) -> None:
    settings, Authed, Supervisor = ctx.settings, ctx.authed, ctx.supervisor

    @r.get("/flagged", response_class=HTMLResponse)
    def flagged(request: Request, user: Authed):
        p = ctx.list_params(request)
        ctx.check_unflagged(user, bool(p["all"]))
        d, rows = ctx.filtered(p)
        total = len(rows)
        pages, page = pages_of(total, p["per_page"], p["page"])
        p["page"] = page
        chunk = rows.iloc[(page - 1) * p["per_page"]: page * p["per_page"]]
        ctx.shown(request, user, p, chunk, "view_list")
        items = chunk.to_dict("records")
        decided = ctx.latest_decisions([row["applicant_key"] for row in items])
        base = {k: v for k, v in p.items() if v and k not in ("page",)}

        def qs(**over) -> str:
            return "?" + urlencode({**base, **{k: v for k, v in over.items() if v}})

        return ctx.render(request, "list.html", user, run=d, items=items, total=total, page=page, pages=pages, p=p,
                          qs=qs, decided=decided, dimensions=DIMENSIONS, threshold=DIMENSION_THRESHOLD,
                          countries=d.countries(), reasons=d.reason_codes(), sorts=list(SORTS),
                          agent_available=d.dataset_apps is not None)

    @r.get("/applications", response_class=HTMLResponse)
    def applications(request: Request, user: Authed, q: str = "", page: PageNumber = 1):
        """The examiner's list: applications whose own evidence reaches the flag threshold, riskiest
        first, whoever filed them."""
        d = ctx.data()
        rows = d.flagged_applications(q.strip()[:200])
        per_page = settings.page_size
        pages, page = pages_of(len(rows), per_page, page)
        items = rows.iloc[(page - 1) * per_page: page * per_page].to_dict("records")
        ctx.read_allowed(user, len(items))
        ctx.audit(user.name, "view_applications", "", {"page": page, "q": q[:200], "shown": len(items)}, request)
        return ctx.render(request, "applications.html", user, run=d, items=items, total=len(rows), page=page,
                          pages=pages, q=q, qs=lambda **over: "?" + urlencode({"q": q, **over}))

    @r.get("/api/flagged")
    def api_flagged(request: Request, user: Authed):
        p = ctx.list_params(request)
        ctx.check_unflagged(user, bool(p["all"]))
        d, rows = ctx.filtered(p)
        chunk = rows.iloc[(p["page"] - 1) * p["per_page"]: p["page"] * p["per_page"]]
        ctx.shown(request, user, p, chunk, "view_list")
        cols = ["applicant_key", "applicant_name", "grade", "points", "risk_score", *DIMENSIONS, "n_applications",
                "applicant_country", "flagged"]
        items = [{c: (row[c].item() if hasattr(row[c], "item") else row[c]) for c in cols}
                 for row in chunk.to_dict("records")]
        return {"as_of": d.as_of, "total": len(rows), "page": p["page"], "per_page": p["per_page"], "items": items}

    @r.get("/agents", response_class=HTMLResponse)
    def agents_page(request: Request, user: Authed, abnormal: str = "", page: PageNumber = 1):
        d = ctx.data()
        rows = d.agents if d.agents is not None else pd.DataFrame(columns=["abnormal"])
        if abnormal == "1":
            rows = rows[rows["abnormal"]]
        per_page = settings.page_size
        pages, page = pages_of(len(rows), per_page, page)
        items = rows.iloc[(page - 1) * per_page: page * per_page].to_dict("records")
        ctx.audit(user.name, "view_agents", "", {"page": page, "abnormal": abnormal == "1", "shown": len(items)},
                  request)
        return ctx.render(request, "agents.html", user, run=d, items=items, total=len(rows), page=page, pages=pages,
                          available=d.agents is not None, abnormal=abnormal == "1",
                          qs=lambda **over: "?" + urlencode({"abnormal": "1" if abnormal == "1" else "", **over}))

    @r.get("/overview", response_class=HTMLResponse)
    def overview_page(request: Request, user: Supervisor):
        from review.overview import overview

        d = ctx.data()
        ctx.audit(user.name, "view_overview", "", {"run": d.as_of}, request)
        return ctx.render(request, "overview.html", user, run=d, **overview(ctx.state, d))
