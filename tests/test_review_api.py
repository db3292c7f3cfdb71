"""The reviewer web app through FastAPI's TestClient: routes, roles, CSRF, escaping, audit chain, limits.

The state folder is made by running the real pipeline on the tiny hand-made dataset of review.demo
(marks with HTML/JS in them, names with quotes and ampersands).
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from review import db as rdb  # noqa: E402
from review.app import ReviewSettings, create_app  # noqa: E402
from review.cli import main as review_main  # noqa: E402
from review.data import latest_run  # noqa: E402
from review.demo import EVIL_NAME, HOARDER, XSS_IMG, XSS_SCRIPT, make_demo_state  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    return make_demo_state(tmp_path_factory.mktemp("review-state"))


@pytest.fixture(scope="module")
def keys(state) -> dict:
    import pandas as pd

    a = pd.read_parquet(latest_run(state) / "applicant_scores.parquet")
    by_name = dict(zip(a["applicant_name"], a["applicant_key"], strict=True))
    ok = a[(a["grade"] != "D") & a["flagged"]]
    return {"hoarder": by_name[HOARDER], "evil": by_name[EVIL_NAME], "non_d": ok["applicant_key"].iloc[0],
            "unflagged": a.loc[~a["flagged"], "applicant_key"].iloc[0],
            "grades": dict(zip(a["applicant_key"], a["grade"], strict=True))}


def make(state: Path, tmp_path: Path, **settings):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    app = create_app(state, url, ReviewSettings(secret_key="test-secret", **settings))
    for name, role in (("rev", "reviewer"), ("rev2", "reviewer"), ("sup", "supervisor"), ("adm", "admin")):
        rdb.add_user(app.state.db, name, role, PASSWORD)
    return app, url


@pytest.fixture
def app_url(state, tmp_path):
    return make(state, tmp_path)


@pytest.fixture
def app(app_url):
    return app_url[0]


def client(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def login(app, name: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    r = c.post("/login", data={"username": name, "password": password, "csrf_token": tok, "next": "/flagged"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get("/flagged")
    return c, CSRF_RE.search(page.text).group(1)


def decide(c, csrf, key, action, comment="looked at the evidence"):
    return c.post("/decide", data={"key": key, "action": action, "comment": comment, "csrf_token": csrf},
                  follow_redirects=False)


def decisions(app, key=None):
    from sqlalchemy import select

    with app.state.db() as s:
        q = select(rdb.Decision).order_by(rdb.Decision.id)
        if key:
            q = q.where(rdb.Decision.applicant_key == key)
        return s.execute(q).scalars().all()


def audit_rows(app):
    from sqlalchemy import select

    with app.state.db() as s:
        return s.execute(select(rdb.AuditRow).order_by(rdb.AuditRow.seq)).scalars().all()


def post_routes(app) -> list[str]:
    return sorted(r.path.replace("{decision_id}", "1") for r in app.routes
                  if "POST" in getattr(r, "methods", set()) and r.path != "/login")


def get_routes(app) -> list[str]:
    return sorted(r.path for r in app.routes if "GET" in getattr(r, "methods", set())
                  and r.path not in ("/login", "/healthz", "/") and not r.path.startswith("/static"))


# --------------------------------------------------------------------------- login and access
def test_no_page_or_api_without_login(app):
    c = client(app)
    gets = get_routes(app)
    assert {"/flagged", "/applicant", "/audit", "/pending", "/api/flagged", "/api/group"} <= set(gets)
    for path in gets:
        r = c.get(path, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in post_routes(app):
        assert c.post(path, data={"csrf_token": "x"}, follow_redirects=False).status_code == 401, path
    assert c.get("/healthz").status_code == 200


def test_login_page_and_session_cookie_flags(app):
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    r = c.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/flagged"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert PASSWORD not in r.headers["set-cookie"]
    assert c.get("/flagged").status_code == 200
    assert [row.action for row in audit_rows(app)] == ["login_ok", "view_list"]


def test_wrong_password_is_refused_and_audited(app):
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    for user in ("rev", "nobody"):
        r = c.post("/login", data={"username": user, "password": "wrong password", "csrf_token": tok})
        assert r.status_code == 401 and "wrong password" in r.text
    assert c.get("/flagged", follow_redirects=False).status_code == 303
    rows = audit_rows(app)
    assert [(r.action, r.target) for r in rows] == [("login_failed", "rev"), ("login_failed", "nobody")]


def test_login_without_csrf_token_is_refused(app):
    c = client(app)
    c.get("/login")
    r = c.post("/login", data={"username": "rev", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": "forged"},
               follow_redirects=False)
    assert r.status_code == 403


def test_login_rate_limit_per_user_and_ip(app):
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    for _ in range(5):
        assert c.post("/login", data={"username": "rev", "password": "nope", "csrf_token": tok}).status_code == 401
    r = c.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 429  # blocked even with the right password
    assert "login_blocked" in [row.action for row in audit_rows(app)]
    # another user name from the same address is not blocked
    r = c.post("/login", data={"username": "sup", "password": PASSWORD, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303


def test_logout_ends_the_session(app):
    c, csrf = login(app, "rev")
    assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/flagged", follow_redirects=False).status_code == 303
    assert "logout" in [r.action for r in audit_rows(app)]


def test_a_stolen_cookie_is_useless_after_logout(app):
    c, csrf = login(app, "rev")
    stolen = dict(c.cookies)
    c.post("/logout", data={"csrf_token": csrf})
    thief = client(app)
    thief.cookies.update(stolen)
    assert thief.get("/flagged", follow_redirects=False).status_code == 303


def test_no_open_redirect_after_login(app):
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = c.post("/login", data={"username": "rev", "password": PASSWORD, "csrf_token": tok, "next": bad},
                   follow_redirects=False)
        assert r.headers["location"] == "/flagged", bad
        tok = CSRF_RE.search(c.get("/login").text).group(1)


def test_every_form_without_a_valid_csrf_token_is_refused(app, keys):
    c, csrf = login(app, "adm")
    posts = post_routes(app)
    assert {"/decide", "/logout", "/decisions/1/approve", "/decisions/1/reject", "/export/flagged.csv",
            "/export/labels.csv"} <= set(posts)
    for path in posts:
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged" + csrf[6:]}):
            r = c.post(path, data={"key": keys["non_d"], "action": "dismiss", "comment": "x", **data},
                       follow_redirects=False)
            assert r.status_code == 403, (path, data)
    assert decisions(app) == []
    assert c.get("/flagged").status_code == 200  # still logged in: the refused logout did nothing


def test_csrf_token_of_another_session_is_refused(app, keys):
    _, other_csrf = login(app, "rev2")
    c, _ = login(app, "rev")
    assert decide(c, other_csrf, keys["non_d"], "dismiss").status_code == 403


# --------------------------------------------------------------------------- escaping
def test_hostile_marks_and_names_render_escaped(app, keys):
    c, _ = login(app, "rev")
    page = c.get("/applicant", params={"key": keys["hoarder"]})
    assert page.status_code == 200
    html = page.text
    assert XSS_SCRIPT not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS_IMG not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "REF-1 &lt;b&gt;x&lt;/b&gt;" in html  # a decision reference with markup
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp

    evil = c.get("/applicant", params={"key": keys["evil"]}).text
    assert EVIL_NAME not in evil
    assert "Evil &#34;Q&#39;&amp;&lt;&gt;&#34; Trading Ltd" in evil
    assert "A&amp;B &lt;Agents&gt;" in evil  # the agent column
    lst = c.get("/flagged").text
    assert EVIL_NAME not in lst and "Evil &#34;Q&#39;&amp;&lt;&gt;&#34; Trading Ltd" in lst
    # search text is reflected escaped too
    found = c.get("/flagged", params={"q": '"><script>alert(2)</script>'}).text
    assert "<script>alert(2)" not in found and "&lt;script&gt;alert(2)" in found


def test_api_returns_json_not_html(app, keys):
    c, _ = login(app, "rev")
    r = c.get("/api/flagged", params={"grade": "D"})
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert {i["applicant_key"] for i in body["items"]} >= {keys["hoarder"], keys["evil"]}
    g = c.get("/api/group", params={"group_id": "g:" + keys["hoarder"]}).json()
    assert len(g["nodes"]) == 3 and {lk["link"] for lk in g["links"]} >= {"address"}
    assert c.get("/api/group", params={"group_id": "nope"}).status_code == 404


# --------------------------------------------------------------------------- list and credit file
def _listed(c, **params) -> set[str]:
    html = c.get("/flagged", params=params).text
    return {m for m in re.findall(r'<div class="key">([^<]+)</div>', html)}


def test_flagged_list_filters_sort_search_and_pages(app, keys):
    import html as h

    c, _ = login(app, "rev")
    hoarder, evil = h.escape(keys["hoarder"]), h.escape(keys["evil"])
    everything = _listed(c, per_page=100)
    assert {hoarder, evil} <= everything
    assert _listed(c, grade="D", per_page=100) == {hoarder, evil}
    assert evil in _listed(c, dimension="infringement") and hoarder not in _listed(c, dimension="infringement")
    assert _listed(c, reason="HOARDING_BURST") == {hoarder}
    assert _listed(c, country="US") == {evil}
    assert _listed(c, agent="A&B") == {evil}
    assert _listed(c, date_from="2025-03-01", date_to="2025-03-31") == {evil}
    assert _listed(c, q="囤积") == {hoarder}
    assert _listed(c, q="tm000067") == {evil}  # application number, any case
    assert _listed(c, q="no such applicant") == set()
    page1, page2 = _listed(c, per_page=1), _listed(c, per_page=1, page=2)
    assert len(page1) == len(page2) == 1 and page1 != page2
    by_name = c.get("/flagged", params={"sort": "name", "order": "asc", "per_page": 100}).text
    names = re.findall(r'<td><a href="/applicant\?key=[^"]+">([^<]+)</a>', by_name)
    assert names == sorted(names)
    assert c.get("/flagged", params={"all": "1"}).status_code == 403  # unflagged applicants: supervisors only
    sup, _ = login(app, "sup")
    assert len(_listed(sup, all="1", per_page=100)) > len(everything)
    assert c.get("/flagged", params={"grade": "Z", "date_from": "junk", "page": "x", "sort": "evil"}).status_code == 200


def test_credit_file_shows_group_graph_evidence_transfers_decisions_and_grade(app, keys):
    c, _ = login(app, "rev")
    html = c.get("/applicant", params={"key": keys["hoarder"]}).text
    assert '<svg class="graph"' in html and html.count("<circle") == 3
    assert "深圳市影子贸易有限公司" in html and "same address" in html
    assert "Buyer 0 Ltd" in html  # transfer chain
    assert "bad faith refusal" in html and "REF-2" in html
    assert "HOARDING_BURST" in html and "files a burst of marks" in html
    assert "Grade and deductions" in html and "bad faith refusal 2025-10-01 (REF-2)" in html
    evil = c.get("/applicant", params={"key": keys["evil"]}).text
    assert 'class="pair"' in evil and "Starbucks Corporation" in evil and "NIKEE" in evil
    assert html.count('<td class="mark">') == 25 and "Show up to 500" in html  # 60 applications
    full = c.get("/applicant", params={"key": keys["hoarder"], "apps": "all"}).text
    assert full.count('<td class="mark">') == 60 and "Show up to" not in full
    assert c.get("/applicant", params={"key": "no-such-key"}).status_code == 404


def test_grade_history_from_history_file(app, state, keys):
    import pandas as pd

    hist = state / "history"
    hist.mkdir(exist_ok=True)
    pd.DataFrame({"applicant_key": [keys["evil"], keys["evil"]], "as_of": ["2025-06-30", "2025-09-30"],
                  "grade": ["B", "C"], "points": [85.0, 70.0], "risk_score": [0.4, 0.6]}).to_parquet(
        hist / "grades.parquet")
    try:
        c, _ = login(app, "rev")
        html = c.get("/applicant", params={"key": keys["evil"]}).text
        assert "2025-06-30" in html and "2025-09-30" in html
    finally:
        (hist / "grades.parquet").unlink()


# --------------------------------------------------------------------------- decisions and roles
def test_reviewer_confirm_on_grade_d_waits_for_a_supervisor(app, keys):
    assert keys["grades"][keys["hoarder"]] == "D"
    rev, rcsrf = login(app, "rev")
    r = decide(rev, rcsrf, keys["hoarder"], "confirm", "50 coined marks in a week")
    assert r.status_code == 303
    (d,) = decisions(app, keys["hoarder"])
    assert (d.action, d.status, d.reviewer) == ("confirm", "pending_supervisor", "rev")
    page = rev.get("/applicant", params={"key": keys["hoarder"]}).text
    assert "pending supervisor" in page and "/approve" not in page
    # a reviewer cannot approve (their own or anyone's)
    assert rev.post(f"/decisions/{d.id}/approve", data={"comment": "ok", "csrf_token": rcsrf}).status_code == 403
    assert "pending supervisor" in rev.get("/pending").text
    sup, scsrf = login(app, "sup")
    assert f"/decisions/{d.id}/approve" in sup.get("/applicant", params={"key": keys["hoarder"]}).text
    r = sup.post(f"/decisions/{d.id}/approve", data={"comment": "agreed", "csrf_token": scsrf},
                 follow_redirects=False)
    assert r.status_code == 303
    (d,) = decisions(app, keys["hoarder"])
    assert (d.status, d.supervisor) == ("approved", "sup")
    assert sup.post(f"/decisions/{d.id}/approve", data={"comment": "again", "csrf_token": scsrf}).status_code == 409
    actions = [(r.actor, r.action) for r in audit_rows(app)]
    assert ("rev", "decision") in actions and ("sup", "decision_approved") in actions


def test_supervisor_can_reject_and_any_change_to_d_needs_a_second_person(app, keys):
    rev, rcsrf = login(app, "rev")
    decide(rev, rcsrf, keys["evil"], "confirm")
    (d,) = decisions(app, keys["evil"])
    sup, scsrf = login(app, "sup")
    sup.post(f"/decisions/{d.id}/reject", data={"comment": "not enough", "csrf_token": scsrf})
    assert decisions(app, keys["evil"])[0].status == "rejected"
    # a supervisor's own change to a D grade waits for another supervisor or an admin
    decide(sup, scsrf, keys["evil"], "confirm", "exact copies of STARBUCKS")
    mine = decisions(app, keys["evil"])[-1]
    assert mine.status == "pending_supervisor"
    assert sup.post(f"/decisions/{mine.id}/approve", data={"comment": "self", "csrf_token": scsrf}).status_code == 403
    adm, acsrf = login(app, "adm")
    adm.post(f"/decisions/{mine.id}/approve", data={"comment": "agreed", "csrf_token": acsrf})
    assert decisions(app, keys["evil"])[-1].status == "approved"
    # after the approval, the reviewer cannot undo it alone: a dismissal of the D grade waits too
    decide(rev, rcsrf, keys["evil"], "dismiss", "changed my mind")
    assert (decisions(app, keys["evil"])[-1].action, decisions(app, keys["evil"])[-1].status) == (
        "dismiss", "pending_supervisor")
    decide(sup, scsrf, keys["evil"], "dismiss", "dismissing directly")
    assert decisions(app, keys["evil"])[-1].status == "pending_supervisor"
    assert rdb.verify_audit(app.state.db)[0]


def test_decision_and_its_audit_row_are_stored_both_or_neither(app, keys, monkeypatch):
    rev, rcsrf = login(app, "rev")

    def crash(*a, **k):  # the process dies between the decision and its audit row
        raise RuntimeError("killed")

    from sqlalchemy import delete, select

    monkeypatch.setattr(rdb, "_next_audit_row", crash)
    with pytest.raises(RuntimeError):
        decide(rev, rcsrf, keys["non_d"], "dismiss", "house marks")
    monkeypatch.undo()
    assert decisions(app) == []
    assert rdb.verify_audit(app.state.db)[0]
    # a decision written around the app (no audit row) is found by verify
    with app.state.db() as s:
        s.add(rdb.Decision(applicant_key=keys["non_d"], run_as_of="x", grade="A", action="dismiss", status="final",
                           reviewer="rev", decided_at=rdb.iso(rdb.utcnow())))
        s.commit()
    ok, message, _ = rdb.verify_audit(app.state.db)
    assert not ok and "has no audit row" in message
    # ... and so is a status changed around the app
    decide(rev, rcsrf, keys["non_d"], "confirm", "copies")
    with app.state.db() as s:
        s.execute(delete(rdb.Decision).where(rdb.Decision.reviewer == "rev", rdb.Decision.run_as_of == "x"))
        dec = s.execute(select(rdb.Decision).where(rdb.Decision.action == "confirm")).scalar_one()
        dec.status = "rejected"
        s.commit()
    ok, message, _ = rdb.verify_audit(app.state.db)
    assert not ok and "'rejected' but its audit rows say 'final'" in message


def test_reviewer_decisions_on_other_grades_are_final(app, keys):
    rev, csrf = login(app, "rev")
    assert decide(rev, csrf, keys["non_d"], "dismiss", "house marks").status_code == 303
    assert decide(rev, csrf, keys["hoarder"], "escalate", "needs a second look").status_code == 303
    assert [(d.action, d.status) for d in decisions(app)] == [("dismiss", "final"), ("escalate", "escalated")]
    listing = rev.get("/flagged", params={"per_page": 100}).text
    assert "dismiss · final" in listing and "escalate · escalated" in listing
    assert "needs a second look" in rev.get("/pending").text
    sup, scsrf = login(app, "sup")
    decide(sup, scsrf, keys["hoarder"], "confirm", "resolved the escalation")
    assert "needs a second look" not in rev.get("/pending").text  # a later decision resolves it


def test_decision_validation(app, keys):
    rev, csrf = login(app, "rev")
    assert decide(rev, csrf, keys["non_d"], "confirm", "   ").status_code == 400
    assert decide(rev, csrf, keys["non_d"], "delete", "x").status_code == 400
    assert decide(rev, csrf, "no-such-key", "confirm", "x").status_code == 404
    assert decide(rev, csrf, keys["non_d"], "confirm", "x" * 2001).status_code == 400
    assert decisions(app) == []


def test_repair_request_needs_a_supervisor_and_reaches_the_batch(app, state, keys, tmp_path):
    import shutil

    import pandas as pd

    from pipeline.credit import state_repairs

    repair_state = tmp_path / "state"  # the batch reads approved repairs from STATE/review.db
    repair_state.mkdir()
    rev, rcsrf = login(app, "rev")
    decide(rev, rcsrf, keys["non_d"], "repair", "applicant withdrew all copies")
    (d,) = decisions(app, keys["non_d"])
    assert d.status == "pending_supervisor"
    shutil.copy(tmp_path / "review.db", repair_state / "review.db")
    assert state_repairs(repair_state).empty
    sup, scsrf = login(app, "sup")
    sup.post(f"/decisions/{d.id}/approve", data={"comment": "verified withdrawal", "csrf_token": scsrf})
    shutil.copy(tmp_path / "review.db", repair_state / "review.db")
    (rec,) = state_repairs(repair_state).to_dict("records")
    (d,) = decisions(app, keys["non_d"])
    assert rec["applicant_key"] == keys["non_d"] and rec["reviewer"] == "rev" and rec["status"] == "granted"
    assert rec["comment"] == "applicant withdrew all copies" and rec["date"] == pd.Timestamp(d.supervised_at[:10])
    assert [r.action for r in audit_rows(app) if r.action.startswith("decision")] == ["decision", "decision_approved"]


def test_audit_view_is_for_supervisors_and_admins(app, keys):
    rev, rcsrf = login(app, "rev")
    decide(rev, rcsrf, keys["non_d"], "confirm", "clear copy")
    assert rev.get("/audit").status_code == 403
    assert rev.post("/export/labels.csv", data={"csrf_token": rcsrf}).status_code == 403
    for name in ("sup", "adm"):
        c, _ = login(app, name)
        page = c.get("/audit")
        assert page.status_code == 200 and "clear copy" in page.text and "login_ok" in page.text
        assert "audit chain intact" in c.get("/audit", params={"verify": "1"}).text
        assert "decision" in c.get("/audit", params={"action": "decision"}).text


# --------------------------------------------------------------------------- labels, exports, limits
def test_labels_export_cli_and_web(app_url, state, keys, tmp_path, capsys):
    app, url = app_url
    rev, csrf = login(app, "rev")
    decide(rev, csrf, keys["non_d"], "confirm", "copy")
    decide(rev, csrf, keys["hoarder"], "confirm", "hoarding")  # D: pending, not a label yet
    decide(rev, csrf, keys["evil"], "escalate", "?")
    out = tmp_path / "labels.csv"
    assert review_main(["labels", "export", "--state", str(state), "--db", url, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "applicant_key,label,decision,reviewer,decided_at"
    assert len(lines) == 2 and lines[1].startswith(f"{keys['non_d']},1,confirm,rev,")
    decide(rev, csrf, keys["non_d"], "dismiss", "changed my mind")  # the latest decision wins
    sup, scsrf = login(app, "sup")
    r = sup.post("/export/labels.csv", data={"csrf_token": scsrf})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    body = r.text.splitlines()
    assert len(body) == 2 and body[1].startswith(f"{keys['non_d']},0,dismiss,rev,")
    exports = [r for r in audit_rows(app) if r.action == "export"]
    assert [(e.actor, e.target) for e in exports][-1] == ("sup", "labels.csv")
    assert exports[0].actor.startswith("cli")


def test_export_limit_per_day(state, tmp_path):
    app, _ = make(state, tmp_path, exports_per_day=2)
    rev, rcsrf = login(app, "rev")
    assert rev.post("/export/flagged.csv", data={"csrf_token": rcsrf}).status_code == 403  # a supervisor action
    c, csrf = login(app, "sup")
    for _ in range(2):
        r = c.post("/export/flagged.csv?grade=D", data={"csrf_token": csrf})
        assert r.status_code == 200 and "applicant_key" in r.text
    assert c.post("/export/flagged.csv", data={"csrf_token": csrf}).status_code == 429
    assert len([r for r in audit_rows(app) if r.action == "export"]) == 2


def test_export_neutralises_spreadsheet_formulas(state, tmp_path, keys):
    app, _ = make(state, tmp_path)
    c, csrf = login(app, "sup")
    body = c.post("/export/flagged.csv?grade=D", data={"csrf_token": csrf}).text
    assert keys["hoarder"] in body and "\n=" not in body and ",=" not in body


def test_reading_is_audited_and_limited_per_day(state, tmp_path, keys):
    import json as js

    app, _ = make(state, tmp_path, rows_per_day=5)
    c, _ = login(app, "rev")  # login() shows the first list page (counted)
    first = [r for r in audit_rows(app) if r.action == "view_list"]
    shown = len(js.loads(first[-1].details)["keys"])
    assert 0 < shown <= 5
    left = 5 - shown
    r = c.get("/api/flagged", params={"per_page": 1})
    assert r.status_code == (200 if left >= 1 else 429)
    for _ in range(max(left - 1, 0)):
        assert c.get("/api/flagged", params={"per_page": 1}).status_code == 200
    assert c.get("/api/flagged", params={"per_page": 1}).status_code == 429  # the day's volume is used up
    assert c.get("/applicant", params={"key": keys["non_d"]}).status_code == 429
    views = [js.loads(r.details) for r in audit_rows(app) if r.action == "view_list" and r.actor == "rev"]
    assert sum(len(v["keys"]) for v in views) == 5  # who saw which applicants, page by page
    other, _ = login(app, "sup")  # per user
    assert other.get("/applicant", params={"key": keys["non_d"]}).status_code == 200
    assert [(r.actor, r.target) for r in audit_rows(app) if r.action == "view_applicant"] == [("sup", keys["non_d"])]


def test_unflagged_applicants_are_for_supervisors(app, keys):
    unflagged = keys["unflagged"]
    rev, _ = login(app, "rev")
    assert rev.get("/applicant", params={"key": unflagged}).status_code == 403
    assert rev.get("/api/flagged", params={"all": "1"}).status_code == 403
    sup, _ = login(app, "sup")
    assert sup.get("/applicant", params={"key": unflagged}).status_code == 200


def test_parallel_exports_cannot_pass_the_daily_limit(state, tmp_path):
    import threading

    app, _ = make(state, tmp_path, exports_per_day=5)
    c, csrf = login(app, "sup")
    codes = []

    def export():
        codes.append(c.post("/export/flagged.csv?grade=D", data={"csrf_token": csrf}).status_code)

    threads = [threading.Thread(target=export) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 5 + [429] * 7
    assert len([r for r in audit_rows(app) if r.action == "export"]) == 5


def test_huge_numbers_in_urls_are_client_errors(app):
    sup, csrf = login(app, "sup")
    r = sup.post("/decisions/99999999999999999999999/approve", data={"comment": "x", "csrf_token": csrf})
    assert r.status_code == 422
    assert sup.get("/audit", params={"page": "99999999999999999999"}).status_code == 422
    assert sup.get("/flagged", params={"page": "99999999999999999999"}).status_code == 200


def test_overview_pictures_count_what_the_run_holds(app, state, keys):
    import html as h

    import pandas as pd

    a = pd.read_parquet(latest_run(state) / "applicant_scores.parquet")
    rev, _ = login(app, "rev")
    assert rev.get("/overview").status_code == 403
    sup, _ = login(app, "sup")
    page = sup.get("/overview").text
    assert "<script" not in page.lower()
    for grade in "ABCD":  # the grade-mix table beside the picture, counted independently here
        assert f"grade {grade} {int((a['grade'] == grade).sum())}</title>" in page
    flagged = a[a["flagged"]]
    for dim in ("hoarding", "infringement"):
        n = int((flagged[dim] >= 0.5).sum())
        assert re.search(rf">{dim}</text>.*?>{n}</text>", page, re.S)
    assert "No drift report" in page  # a run made by tmscreen score, not a batch
    assert h.escape(keys["hoarder"]) not in page  # pictures and counts, no applicant names


def test_overview_terms_and_bars_by_hand():
    import pandas as pd

    from review.data import RunData
    from review.overview import newest_terms, stacked_bars

    bars = stacked_bars(pd.DataFrame({"A": [3, 0], "D": [1, 0]}, index=["2025-01-01", "2025-02-01"]), height=124)
    first = bars["bars"][0]
    assert first["total"] == 4 and [s["h"] for s in first["segments"]] == [61.5, 20.5]  # 82 px plot: 3/4, 1/4
    assert [s["h"] for s in bars["bars"][1]["segments"]] == [0.0, 0.0]
    ev = pd.DataFrame({"application_id": ["1", "2", "3", "4", "5"], "applicant_key": ["a", "b", "c", "a", "d"],
                       "dimension": "squatting", "term": ["<b>木鱼</b>"] * 3 + ["x", "x"],
                       "kind": ["trend"] * 3 + ["place"] * 2})
    apps = pd.DataFrame({"application_id": ["1", "2", "3", "4", "5"],
                         "filing_date": pd.to_datetime(["2025-01-03", "2025-01-01", "2025-01-09", "2025-01-02",
                                                        "2025-01-02"])})
    run = RunData(path=Path("."), manifest={}, applicants=pd.DataFrame(), applications=apps, flags=pd.DataFrame(),
                  evidence=ev, groups=pd.DataFrame(), edges=pd.DataFrame())
    assert newest_terms(run) == [{"term": "<b>木鱼</b>", "kind": "trend", "applicants": 3, "filings": 3,
                                  "first": "2025-01-01", "last": "2025-01-09"}]  # "x": 2 applicants, no wave


def test_agent_list_and_the_agent_on_a_credit_file(app, state):
    import html as h

    from review.data import RunData

    run = RunData.load(latest_run(state))
    agent = run.agents.iloc[0]
    ids = run.dataset_apps.loc[run.dataset_apps["agent_name"] == agent["agent_names"], "application_id"]
    client = run.applications.loc[run.applications["application_id"].isin(ids), "applicant_key"].iloc[0]
    rev, _ = login(app, "rev")
    page = rev.get("/agents").text
    assert h.escape(agent["evidence"]) in page and f"<td>{agent['clients']}</td>" in page
    assert ("No agent listed." in rev.get("/agents", params={"abnormal": "1"}).text) == (not run.agents["abnormal"].any())
    sup, _ = login(app, "sup")
    credit = sup.get("/applicant", params={"key": client}).text
    assert "Filing agents" in credit and h.escape(agent["evidence"]) in credit
    assert any(r.action == "view_agents" for r in audit_rows(app))


def test_page_rate_limit(state, tmp_path):
    app, _ = make(state, tmp_path, pages_per_minute=4)
    c, _ = login(app, "rev")  # login() itself loads /flagged once
    assert [c.get("/flagged").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert c.get("/api/flagged").status_code == 429
    other, _ = login(app, "sup")  # per user
    assert other.get("/pending").status_code == 200


# --------------------------------------------------------------------------- the audit chain
def _chain_with_a_decision(app_url, state, keys) -> tuple:
    """A reviewer's decision and a supervisor's login in the chain; (app, verify arguments, db path)."""
    app, url = app_url
    rev, csrf = login(app, "rev")
    decide(rev, csrf, keys["non_d"], "dismiss", "fine")
    login(app, "sup")
    return app, ["audit", "verify", "--state", str(state), "--db", url], url.removeprefix("sqlite:///")


def test_editing_or_deleting_an_audit_row_breaks_the_chain(app_url, state, keys, capsys):
    app, args, path = _chain_with_a_decision(app_url, state, keys)
    assert review_main(args) == 0
    assert f"audit chain intact: {len(audit_rows(app))} rows" in capsys.readouterr().out
    con = sqlite3.connect(path)
    seq = con.execute("select seq from audit_log where action = 'decision'").fetchone()[0]
    original = con.execute("select details from audit_log where seq = ?", (seq,)).fetchone()[0]
    con.execute("update audit_log set details = replace(details, 'fine', 'FINE') where seq = ?", (seq,))
    con.commit()
    assert review_main(args) == 1
    err = capsys.readouterr().err
    assert f"audit row {seq}" in err and "edited" in err
    con.execute("update audit_log set details = ? where seq = ?", (original, seq))
    con.commit()
    assert review_main(args) == 0
    capsys.readouterr()
    con.execute("delete from audit_log where seq = ?", (seq,))
    con.commit()
    con.close()
    assert review_main(args) == 1
    assert f"audit row {seq} is missing" in capsys.readouterr().err


def test_a_rehashed_or_shortened_chain_is_caught_by_its_anchor(app_url, state, keys, capsys):
    app, args, path = _chain_with_a_decision(app_url, state, keys)
    url = "sqlite:///" + path
    assert review_main(args) == 0 and f"{len(audit_rows(app))} anchors" in capsys.readouterr().out
    assert oct(os.stat(path).st_mode & 0o777) == "0o600" and oct(os.stat(path + ".anchor").st_mode & 0o777) == "0o600"
    con = sqlite3.connect(path)
    saved = con.execute("select * from audit_log order by seq").fetchall()

    def rehash_from(seq: int) -> None:  # what an attacker with the database would do after an edit
        prev = con.execute("select hash from audit_log where seq = ?", (seq - 1,)).fetchone()[0]
        for rec in con.execute("select * from audit_log where seq >= ? order by seq", (seq,)).fetchall():
            row = dict(zip(["seq", "at", "actor", "action", "target", "ip", "details", "prev_hash", "hash"], rec,
                           strict=True))
            row["prev_hash"] = prev
            row["hash"] = rdb.row_hash(row)
            con.execute("update audit_log set prev_hash = ?, hash = ? where seq = ?", (prev, row["hash"], row["seq"]))
            prev = row["hash"]
        con.commit()

    seq = con.execute("select seq from audit_log where action = 'decision'").fetchone()[0]
    con.execute("update audit_log set details = replace(details, 'fine', 'FINE') where seq = ?", (seq,))
    con.execute("drop index if exists uq_audit_prev_hash")
    rehash_from(seq)
    assert rdb.verify_audit(rdb.make_sessionmaker(rdb.make_engine(url)))[0]  # the chain alone cannot tell
    assert review_main(args) == 1
    assert "does not match the hash anchored" in capsys.readouterr().err
    con.execute("delete from audit_log")
    con.executemany("insert into audit_log values (?,?,?,?,?,?,?,?,?)", saved)
    con.commit()
    assert review_main(args) == 0
    capsys.readouterr()
    last = con.execute("select max(seq) from audit_log").fetchone()[0]
    con.execute("delete from audit_log where seq = ?", (last,))  # the newest row: the chain stays consistent
    con.commit()
    con.close()
    assert review_main(args) == 1
    assert f"audit row {last} was anchored" in capsys.readouterr().err


def test_concurrent_wrong_logins_hash_at_most_the_limit(state, tmp_path, monkeypatch):
    import threading

    import review.routes.auth as login_routes

    app, _ = make(state, tmp_path, login_max_failures=3)
    hashed = []
    real = login_routes.verify_password
    monkeypatch.setattr(login_routes, "verify_password", lambda h, p: hashed.append(1) or real(h, p))
    clients = []
    for _ in range(12):
        c = client(app)
        clients.append((c, CSRF_RE.search(c.get("/login").text).group(1)))
    codes = []

    def attempt(c, tok):
        codes.append(c.post("/login", data={"username": "rev", "password": "wrong password", "csrf_token": tok},
                            follow_redirects=False).status_code)

    threads = [threading.Thread(target=attempt, args=ct) for ct in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(hashed) == 3 and sorted(codes) == [401] * 3 + [429] * 9


def test_password_reset_and_deactivation_end_open_sessions(state, tmp_path, capsys):
    app, url = make(state, tmp_path)
    c, _ = login(app, "rev")
    assert c.get("/flagged").status_code == 200
    rdb.add_user(app.state.db, "rev", "reviewer", "a new long password")  # reset
    assert c.get("/flagged", follow_redirects=False).status_code in (302, 303, 401)
    c, _ = login(app, "rev", "a new long password")
    assert review_main(["users", "deactivate", "rev", "--db", url]) == 0
    assert c.get("/flagged", follow_redirects=False).status_code in (302, 303, 401)
    fresh = client(app)
    tok = CSRF_RE.search(fresh.get("/login").text).group(1)
    r = fresh.post("/login", data={"username": "rev", "password": "a new long password", "csrf_token": tok},
                   follow_redirects=False)
    assert r.status_code == 401
    assert review_main(["users", "deactivate", "nobody", "--db", url]) == 2


def test_commands_create_owner_only_files(tmp_path, capsys):
    from pipeline.cli import main as tmscreen_main

    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "applications.csv").write_text("application_id,filing_date,mark_text,nice_classes,applicant_name\n"
                                         "A1,2020-01-02,SUNRISE,9,Acme Inc.\n")
    old = os.umask(0o022)
    try:
        assert tmscreen_main(["score", str(ds), "--out", str(tmp_path / "run"), "--as-of", "2025-01-01",
                              "--top", "0"]) == 0
    finally:
        os.umask(old)
    assert oct((tmp_path / "run").stat().st_mode & 0o777) == "0o700"
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "run").rglob("*"))


def test_audit_hash_formula():
    row = {"seq": 1, "at": "2026-01-01T00:00:00.000000Z", "actor": "a", "action": "login_ok", "target": "a",
           "ip": "1.2.3.4", "details": "{}", "prev_hash": rdb.GENESIS}
    import hashlib

    canonical = ('{"action":"login_ok","actor":"a","at":"2026-01-01T00:00:00.000000Z","details":"{}",'
                 '"ip":"1.2.3.4","prev_hash":"' + rdb.GENESIS + '","seq":1,"target":"a"}')
    assert rdb.canonical(row) == canonical
    assert rdb.row_hash(row) == hashlib.sha256((rdb.GENESIS + canonical).encode()).hexdigest()


# --------------------------------------------------------------------------- CLI and state
def test_users_add_cli(state, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert review_main(["users", "add", "alice", "--role", "supervisor", "--password-stdin", "--db", url]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert review_main(["users", "add", "bob", "--role", "reviewer", "--password-stdin", "--db", url]) == 2
    assert "at least 8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        review_main(["users", "add", "bob", "--role", "root", "--password-stdin", "--db", url])
    app = create_app(state, url, ReviewSettings(secret_key="k"))
    c, _ = login(app, "alice", "a long password")
    assert c.get("/audit").status_code == 200
    with app.state.db() as s:
        from sqlalchemy import select

        stored = s.execute(select(rdb.User.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert [r.action for r in audit_rows(app)][0] == "user_added"


def test_latest_run_ignores_incomplete_folders(tmp_path):
    runs = tmp_path / "runs"
    for name, complete in (("2025-01-31", True), ("2025-03-31", True), ("2025-04-30", False),
                           (".2025-05-31.tmp-1234", True)):
        (runs / name).mkdir(parents=True)
        if complete:
            (runs / name / "manifest.json").write_text("{}")
    assert latest_run(tmp_path).name == "2025-03-31"


def test_state_without_runs_gives_a_clear_error(tmp_path):
    app = create_app(tmp_path, None, ReviewSettings(secret_key="k"))
    rdb.add_user(app.state.db, "rev", "reviewer", PASSWORD)
    assert (tmp_path / "review.db").exists()
    c, _ = login_no_list(app, "rev")
    r = c.get("/flagged")
    assert r.status_code == 503 and "does not exist" in r.text and "tmscreen score" in r.text


def login_no_list(app, name):
    c = client(app)
    tok = CSRF_RE.search(c.get("/login").text).group(1)
    c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": tok}, follow_redirects=False)
    return c, tok


def test_application_warnings_list_flags_filings_on_their_own_evidence_escaped(app, keys):
    """TM000001 (a <script> mark) is named by a bad-faith refusal and Evil's STARBUCKS copies a
    protected mark in its class: both are on the examiner's list, their texts escaped; an ordinary
    filing is not; the list is audited."""
    c, _ = login(app, "rev")
    page = c.get("/applications")
    assert page.status_code == 200
    html = page.text
    assert "TM000001" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html.lower()
    assert "STARBUCKS" in html and "Evil &#34;Q&#39;&amp;&lt;&gt;&#34; Trading Ltd" in html
    assert "HOUSE1" not in html
    found = c.get("/applications", params={"q": "starbucks"}).text
    assert "STARBUCKS" in found and "TM000001" not in found
    assert "&lt;b&gt;" in c.get("/applications", params={"q": "<b>"}).text  # the query is reflected escaped
    views = [row for row in audit_rows(app) if row.action == "view_applications"]
    assert len(views) == 3 and views[0].actor == "rev"
