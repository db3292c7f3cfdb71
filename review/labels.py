"""Reviewer decisions → labels for ``tmscreen train --labels FILE``.

Labels CSV columns: ``applicant_key,label,decision,reviewer,decided_at``. One row per applicant: its
latest *effective* decision (status final, or approved by a supervisor). ``confirm`` → label 1,
``dismiss`` → label 0. Escalations, credit-repair requests, pending and rejected decisions are not
labels and are left out (an escalation is a question, a repair is about the future, not about
whether the flag was right).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from review.db import EFFECTIVE, Decision

LABEL_COLUMNS = ("applicant_key", "label", "decision", "reviewer", "decided_at")
LABEL_OF = {"confirm": 1, "dismiss": 0}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def label_rows(db: sessionmaker[Session]) -> list[dict]:
    with db() as s:
        decs = s.execute(select(Decision).where(Decision.action.in_(tuple(LABEL_OF)),
                                                Decision.status.in_(EFFECTIVE))
                         .order_by(Decision.applicant_key, Decision.id)).scalars().all()
    latest: dict[str, Decision] = {}
    for d in decs:
        latest[d.applicant_key] = d  # ordered by id: the last one wins
    return [{"applicant_key": d.applicant_key, "label": LABEL_OF[d.action], "decision": d.action,
             "reviewer": d.reviewer, "decided_at": d.supervised_at or d.decided_at}
            for d in sorted(latest.values(), key=lambda d: d.applicant_key)]


def _safe(v):
    """Neutralise spreadsheet formulas (OWASP CSV injection), as pipeline.runio does."""
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def labels_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LABEL_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _safe(v) for k, v in r.items()})
    return buf.getvalue()


def write_labels(db: sessionmaker[Session], out: Path) -> int:
    rows = label_rows(db)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(labels_csv(rows), encoding="utf-8")
    return len(rows)
