"""The reviewer web app in a real browser (Playwright + system Chromium), and the docs screenshots.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium fonts-wqy-zenhei``) and the ``playwright``
Python package (dev extra). Never ``playwright install``: the system browser is used.
Writes docs/screenshots/review-list.png and docs/screenshots/credit-file.png.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("browser tests need /usr/bin/chromium (apt-get install -y chromium fonts-wqy-zenhei)",
                allow_module_level=True)
# the Python packages are dependencies of the project (pyproject.toml): missing, the tests fail
import uvicorn  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from review import db as rdb  # noqa: E402
from review.app import ReviewSettings, create_app  # noqa: E402
from review.demo import EVIL_NAME, HOARDER, XSS_SCRIPT, make_demo_state  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]
LAUNCH_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = make_demo_state(tmp_path_factory.mktemp("browser-state"))
    app = create_app(state, None, ReviewSettings(secret_key="browser-test"))
    rdb.add_user(app.state.db, "rev", "reviewer", PASSWORD)
    rdb.add_user(app.state.db, "sup", "supervisor", PASSWORD)
    port = _free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/flagged")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/flagged$"))


def test_review_flow_in_a_browser(server, browser):
    base, app = server
    dialogs: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, base, "rev")
    cookie = next(c for c in context.cookies() if c["name"] == "tmscreen_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.locator("table.list").inner_text().count(EVIL_NAME) == 1  # shown as text, not markup

    # filter the list: grade D and the hoarding dimension
    page.select_option("select[name=grade]", "D")
    page.select_option("select[name=dimension]", "hoarding")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"grade=D.*dimension=hoarding"))
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(HOARDER)
    page.select_option("select[name=dimension]", "")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.list tbody tr")).to_have_count(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "review-list.png"), full_page=True)

    # open the hoarder's credit file: evidence, transfers, group graph, hostile marks as text
    page.click(f"table.list a:has-text('{HOARDER}')")
    expect(page.locator("h1")).to_contain_text(HOARDER)
    expect(page.locator("#flags")).to_contain_text("HOARDING_BURST")
    expect(page.locator("#evidence")).to_contain_text("Buyer 0 Ltd")
    expect(page.locator("svg.graph circle")).to_have_count(3)
    expect(page.locator("#applications")).to_contain_text(XSS_SCRIPT)
    assert page.locator("#applications script").count() == 0 and page.locator("#applications img").count() == 0
    page.screenshot(path=str(SHOTS / "credit-file.png"), full_page=True)

    # the infringer's credit file: mark vs matched mark side by side; confirm (grade D → pending)
    page.goto(f"{base}/flagged?q=tm000067")
    page.click("table.list a")
    expect(page.locator(".pair").first).to_contain_text("STARBUCKS")
    expect(page.locator(".pair").first).to_contain_text("Starbucks Corporation")
    page.check("input[name=action][value=confirm]")
    page.fill("textarea[name=comment]", "exact copies of STARBUCKS & NIKE <b>bold</b>")
    page.click("form.decide button[type=submit]")
    expect(page.locator("table.decisions")).to_contain_text("pending supervisor")
    expect(page.locator("table.decisions")).to_contain_text("<b>bold</b>")
    context.close()

    # the supervisor approves it and sees both in the audit view
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, base, "sup")
    page.click("text=Pending & escalated")
    page.click("table a")
    form = page.locator("table.decisions form")
    form.locator("input[name=comment]").fill("agreed")
    form.locator("button[name=approve]").click()
    expect(page.locator("table.decisions")).to_contain_text("approved")
    page.click("text=Audit log")
    audit = page.locator("table.audit")
    expect(audit).to_contain_text("decision_approved")
    expect(audit).to_contain_text("pending_supervisor")
    expect(audit).to_contain_text("login_ok")
    page.click("text=Verify the hash chain")
    expect(page.locator("p.ok")).to_contain_text("audit chain intact")
    context.close()
    assert dialogs == []  # no script ever ran
