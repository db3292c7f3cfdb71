"""The in-memory bundle passed from stage to stage.

``Tables`` holds the validated contract tables plus the entity columns added by
``pipeline.entities`` (applicant_key, group_id, …). Builders receive it read-only and must not
mutate the frames (copy first): the same bundle feeds every builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Tables:
    # applications: application_id, filing_date (datetime64), mark_text, nice_classes ("9;35"),
    # goods_services, applicant_name, applicant_address, applicant_country, applicant_type,
    # agent_name, status, registration_date; after entity resolution also applicant_key, group_id.
    applications: pd.DataFrame
    # transfers: application_id, transfer_date, assignor_name, assignee_name, assignee_address;
    # after resolution also assignor_key, assignee_key.
    transfers: pd.DataFrame
    # decisions: subject_name, decision_date, kind, authority, reference, application_id;
    # after resolution also subject_key.
    decisions: pd.DataFrame
    # reference/protected_marks: mark_text, owner_name, nice_classes (+ owner_key after resolution)
    protected_marks: pd.DataFrame
    # reference/public_terms: term, category, date
    public_terms: pd.DataFrame
    # entities: applicant_name → applicant_key; groups: applicant_key → group_id (+ evidence)
    entities: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    as_of: pd.Timestamp | None = None
    extras: dict = field(default_factory=dict)


def explode_classes(frame: pd.DataFrame, column: str = "nice_classes") -> pd.DataFrame:
    """One row per (row, class) with an int ``nice_class`` column; index of ``frame`` kept."""
    s = frame[column].fillna("").astype(str).str.split(";").explode()
    s = s[s.str.len() > 0]
    out = frame.loc[s.index].copy()
    out["nice_class"] = s.astype("int64").to_numpy()
    return out
