"""A tiny hand-made state folder for tests, screenshots and trying the review app.

``make_demo_state(state)`` writes a small contract dataset (with hostile text on purpose: HTML/JS in
marks, quotes and ampersands in names) and scores it with the real pipeline into
``state/runs/2025-12-31``. Run it with ``python -m review.demo STATE``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

AS_OF = "2025-12-31"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
EVIL_NAME = "Evil \"Q'&<>\" Trading Ltd"
HOARDER = "深圳市囤积科技有限公司"
SHELL = "深圳市影子贸易有限公司"
SHELL2 = "深圳市幽灵商贸有限公司"
HOARDER_ADDR = "广东省深圳市南山区科技园路88号1203室"

APP_COLUMNS = ["application_id", "filing_date", "mark_text", "nice_classes", "applicant_name",
               "applicant_address", "applicant_type", "applicant_country", "agent_name", "status"]


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def make_demo_dataset(dataset: Path) -> Path:
    """Write the hand-made contract dataset into ``dataset`` and return it."""
    dataset = Path(dataset)
    apps: list[list] = []
    n = 0

    def add(date, mark, classes, name, addr, typ, country, agent, status="pending"):
        nonlocal n
        n += 1
        apps.append([f"TM{n:06d}", date, mark, classes, name, addr, typ, country, agent, status])

    coined = [XSS_SCRIPT, XSS_IMG, "ZORVEX", "QUANTIX", "BLIMPO", "KRAVEN", "MOXILA", "TREVIK", "PLUXOR",
              "VANDRO", "ZELKO", "JUMBRA", "FROSK", "GLIVEN"]
    # A hoarder: a burst of coined marks over many classes, some refused.
    for i in range(60):
        mark = coined[i % len(coined)] + ("" if i < len(coined) else str(i))
        status = "refused" if i % 3 == 0 else "pending"
        add(f"2025-06-{1 + i % 5:02d}", mark, str(1 + (i * 7) % 45), HOARDER, HOARDER_ADDR, "company", "CN",
            "快捷代理有限公司", status)
    # Its shell at the same address (a strong related-party link).
    for i in range(6):
        add(f"2025-07-{10 + i:02d}", f"SHADOW{i}", str(3 + i), SHELL, HOARDER_ADDR, "company", "CN",
            "快捷代理有限公司")
    # An infringer with a hostile name copying protected marks.
    for i, mark in enumerate(["STARBUCKS", "STARBUCK", "STARBUCKS COFFEE", "NIKEE", "NIKE", "星巴克"]):
        add(f"2025-03-{1 + i:02d}", mark, "43" if i < 3 else "25", EVIL_NAME, "1 Main Street, Springfield",
            "company", "US", "A&B <Agents>")
    # Ordinary applicants.
    for i in range(8):
        add(f"2024-0{1 + i % 9}-15", f"HOUSE{i}", "9", f"Normal Company {i} Ltd", f"{i} Quiet Road, Town",
            "company", "GB", "Plain Agents")
    add("2024-05-20", "Brightleaf", "30", "Brightleaf Tea Co", "5 Tea Lane", "company", "GB", "Plain Agents")
    # A second shell at the same address, different agent.
    for i in range(4):
        add(f"2025-07-{20 + i:02d}", f"PHANTOM{i}", str(10 + i), SHELL2, HOARDER_ADDR, "company", "CN", "")
    _write(dataset / "applications.csv", APP_COLUMNS, apps)
    _write(dataset / "reference" / "protected_marks.csv", ["mark_text", "owner_name", "nice_classes"],
           [["STARBUCKS", "Starbucks Corporation", "43"], ["NIKE", "Nike, Inc.", "25"],
            ["星巴克", "Starbucks Corporation", "43"]])
    _write(dataset / "transfers.csv", ["application_id", "transfer_date", "assignor_name", "assignee_name",
                                       "assignee_address"],
           [[f"TM{1 + i:06d}", f"2025-08-{1 + i:02d}", HOARDER, f"Buyer {i} Ltd", f"{i} Buyer Road"]
            for i in range(6)])
    _write(dataset / "decisions.csv", ["subject_name", "decision_date", "kind", "authority", "reference",
                                       "application_id"],
           [[HOARDER, "2025-09-01", "bad_faith_refusal", "CNIPA", "REF-1 <b>x</b>", "TM000001"],
            [HOARDER, "2025-10-01", "bad_faith_refusal", "CNIPA", "REF-2", "TM000004"],
            [EVIL_NAME, "2025-04-01", "infringement_judgment", "Court", "J-9", ""]])
    return dataset


def make_demo_state(state: Path, as_of: str = AS_OF) -> Path:
    """Write a dataset under ``state/dataset`` and score it into ``state/runs/<as_of>``."""
    from core.config import load_config
    from pipeline.score import score_dataset

    state = Path(state)
    dataset = make_demo_dataset(state / "dataset")
    score_dataset(dataset, state / "runs" / as_of, load_config(), as_of=as_of)
    return state


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".tmscreen/review-demo")
    make_demo_state(target)
    print(f"demo state written to {target}; run: tmscreen serve --state {target}")
