"""The screening service: tokens and scopes, revocation, rate limits, audit rows, atomic reload."""

from __future__ import annotations

import shutil
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.config import load_config
from pipeline.batch import run_batch
from review import db as rdb
from review.screen_api import ScreenSettings, create_screen_app


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A demo world and its batch runs as of two dates (the second is published during a test)."""
    from demo.world import generate_world

    root = tmp_path_factory.mktemp("screen-api")
    generate_world(root, 3000, seed=4)
    config = load_config()
    runs = root / "runs-made"
    for as_of in ("2025-06-30", "2025-12-31"):
        state = root / f"state-{as_of}"
        run_batch(root / "dataset", state, as_of, config)
        shutil.copytree(state / "runs" / as_of, runs / as_of)
    apps = pd.read_csv(root / "dataset" / "applications.csv", dtype=str, keep_default_na=False)
    return {"root": root, "runs": runs, "config": config, "apps": apps}


def _state(world, tmp_path, runs=("2025-06-30",)):
    state = tmp_path / "state"
    for r in runs:
        shutil.copytree(world["runs"] / r, state / "runs" / r)
    return state


def _body(world, n: int, start: int = 0) -> dict:
    rows = world["apps"].iloc[start:start + n].copy()
    rows["application_id"] = "NEW" + rows["application_id"]
    rows["filing_date"] = "2025-06-30"
    return {"applications": rows.drop(columns=["registration_date"]).to_dict("records")}


def test_tokens_scopes_and_revocation(world, tmp_path):
    state = _state(world, tmp_path)
    app = create_screen_app(state, world["config"])
    db = app.state.db
    sid, screen_token = rdb.add_token(db, "portal", ["screen"], "test")
    _, status_token = rdb.add_token(db, "monitor", ["status"], "test")
    with rdb.make_engine(rdb.default_db_url(state)).connect() as c:  # stored hashed, never in clear
        stored = [r[0] for r in c.exec_driver_sql("select token_hash from api_tokens")]
    assert rdb.token_hash(screen_token) in stored and screen_token not in stored
    client = TestClient(app)
    body = _body(world, 3)
    assert client.post("/api/screen", json=body).status_code == 401
    assert client.post("/api/screen", json=body, headers={"Authorization": "Bearer tms_wrong"}).status_code == 401
    assert client.post("/api/screen", json=body,
                       headers={"Authorization": f"Bearer {status_token}"}).status_code == 403
    assert client.get("/api/status", headers={"Authorization": f"Bearer {status_token}"}).json()["run"] == "2025-06-30"
    ok = client.post("/api/screen", json=body, headers={"Authorization": f"Bearer {screen_token}"})
    assert ok.status_code == 200
    res = ok.json()
    assert res["index"]["run"] == "2025-06-30"
    assert [r["application_id"] for r in res["results"]] == [a["application_id"] for a in body["applications"]]
    rdb.revoke_token(db, sid, "test")
    assert client.post("/api/screen", json=body, headers={"Authorization": f"Bearer {screen_token}"}).status_code == 401
    with pytest.raises(ValueError):
        rdb.add_token(db, "portal", ["admin"], "test")  # no such scope


def test_rate_limit_bad_rows_and_audit(world, tmp_path):
    state = _state(world, tmp_path)
    # (the daily limit: a per-minute bucket could roll over between the two calls)
    app = create_screen_app(state, world["config"], settings=ScreenSettings(per_minute=100, per_day=5, max_per_call=4))
    db = app.state.db
    _, token = rdb.add_token(db, "portal", ["screen"], "test")
    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    body = _body(world, 3)
    body["applications"][1]["nice_classes"] = "99"  # a bad row: rejected with the contract's error
    r = client.post("/api/screen", json=body, headers=auth)
    assert r.status_code == 200
    results = r.json()["results"]
    assert "error" in results[1] and results[1]["line"] == 2 and "nice_classes" in results[1]["error"]
    assert "risk" in results[0] and "risk" in results[2]
    assert client.post("/api/screen", json=_body(world, 5), headers=auth).status_code == 413
    assert client.post("/api/screen", json=_body(world, 3), headers=auth).status_code == 429  # 3 + 3 > 5 a day
    with db() as s:
        rows = s.query(rdb.AuditRow).filter(rdb.AuditRow.action == "api_screen").all()
    assert len(rows) == 1 and rows[0].actor == "api:portal" and rows[0].target == "2025-06-30"
    assert '"n":3' in rows[0].details and '"rejected":1' in rows[0].details
    assert rdb.verify_audit(db)[0]


def test_a_new_run_is_swapped_in_whole_while_requests_are_served(world, tmp_path):
    state = _state(world, tmp_path)
    app = create_screen_app(state, world["config"], poll_seconds=0.0)
    _, token = rdb.add_token(app.state.db, "portal", ["screen"], "test")
    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    seen, failures, stop = [], [], threading.Event()
    sizes = {r: int(pd.read_json(world["runs"] / r / "index" / "index.json", typ="series")["applications"])
             for r in ("2025-06-30", "2025-12-31")}

    def serve():
        while not stop.is_set():
            r = client.post("/api/screen", json=_body(world, 1), headers=auth)
            if r.status_code != 200:
                failures.append(r.status_code)
                continue
            index = r.json()["index"]
            seen.append(index["run"])
            if index["applications"] != sizes[index["run"]]:
                failures.append(index)  # an index mixed from two runs

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        for _ in range(600):
            if len(seen) >= 3 or failures:
                break
            threading.Event().wait(0.05)
        # publish the newer run as a batch does: built beside, renamed into place
        shutil.copytree(world["runs"] / "2025-12-31", state / "runs" / ".2025-12-31.tmp")
        (state / "runs" / ".2025-12-31.tmp").rename(state / "runs" / "2025-12-31")
        for _ in range(600):
            if seen and seen[-1] == "2025-12-31":
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        worker.join()
    assert not failures
    assert seen[0] == "2025-06-30" and seen[-1] == "2025-12-31"
    # once the new run served a request, the old one never comes back
    first_new = seen.index("2025-12-31")
    assert set(seen[first_new:]) == {"2025-12-31"}
