"""Reason codes: every flag carries one, plus human-readable evidence.

The value of each member is its stable code (stored in outputs and labels); ``describe`` gives the
sentence a reviewer reads. docs/features.md lists them all with definitions.
"""

from __future__ import annotations

from enum import Enum


class Dimension(str, Enum):
    HOARDING = "hoarding"
    INFRINGEMENT = "infringement"
    SQUATTING = "squatting"
    TRANSFER = "transfer"
    DECISIONS = "decisions"


class DecisionKind(str, Enum):
    """Kinds of effective administrative decisions and court rulings (the ``decisions`` table)."""

    BAD_FAITH_REFUSAL = "bad_faith_refusal"
    INVALIDATION = "invalidation"
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    INFRINGEMENT_JUDGMENT = "infringement_judgment"
    OTHER = "other"


DECISION_KINDS = tuple(k.value for k in DecisionKind)
# Decisions that speak to bad faith (grading's hard rule; "other" does not).
BAD_FAITH_KINDS = tuple(k.value for k in DecisionKind if k is not DecisionKind.OTHER)


class Reason(str, Enum):
    # hoarding
    HOARDING_VOLUME = "HOARDING_VOLUME"
    HOARDING_GROUP_VOLUME = "HOARDING_GROUP_VOLUME"
    HOARDING_BURST = "HOARDING_BURST"
    HOARDING_CLASS_SPAN = "HOARDING_CLASS_SPAN"
    HOARDING_ALL_CLASS = "HOARDING_ALL_CLASS"
    HOARDING_COINED_MARKS = "HOARDING_COINED_MARKS"
    HOARDING_INDIVIDUAL_SCALE = "HOARDING_INDIVIDUAL_SCALE"
    HOARDING_REFUSAL_SHARE = "HOARDING_REFUSAL_SHARE"
    HOARDING_REFILING = "HOARDING_REFILING"
    HOARDING_BROAD_SPEC = "HOARDING_BROAD_SPEC"
    # infringement
    INFRINGEMENT_EXACT = "INFRINGEMENT_EXACT"
    INFRINGEMENT_CONFUSABLE = "INFRINGEMENT_CONFUSABLE"
    INFRINGEMENT_EDIT = "INFRINGEMENT_EDIT"
    INFRINGEMENT_PHONETIC = "INFRINGEMENT_PHONETIC"
    INFRINGEMENT_AFFIX = "INFRINGEMENT_AFFIX"
    INFRINGEMENT_REORDER = "INFRINGEMENT_REORDER"
    INFRINGEMENT_HOMOPHONE = "INFRINGEMENT_HOMOPHONE"
    INFRINGEMENT_SHAPE = "INFRINGEMENT_SHAPE"
    INFRINGEMENT_TRANSLITERATION = "INFRINGEMENT_TRANSLITERATION"
    # squatting on public resources
    SQUAT_PLACE = "SQUAT_PLACE"
    SQUAT_PERSON = "SQUAT_PERSON"
    SQUAT_EVENT = "SQUAT_EVENT"
    SQUAT_GENERIC = "SQUAT_GENERIC"
    SQUAT_TREND = "SQUAT_TREND"
    # transfers
    TRANSFER_SHARE = "TRANSFER_SHARE"
    TRANSFER_QUICK_FLIP = "TRANSFER_QUICK_FLIP"
    TRANSFER_MANY_ASSIGNEES = "TRANSFER_MANY_ASSIGNEES"
    TRANSFER_AGENT_ASSIGNOR = "TRANSFER_AGENT_ASSIGNOR"
    # decisions
    DECISION_BAD_FAITH = "DECISION_BAD_FAITH"
    DECISION_INVALIDATION = "DECISION_INVALIDATION"
    DECISION_PENALTY = "DECISION_PENALTY"
    DECISION_JUDGMENT = "DECISION_JUDGMENT"
    DECISION_OTHER = "DECISION_OTHER"

    @property
    def dimension(self) -> Dimension:
        prefix = self.value.split("_", 1)[0]
        return {
            "HOARDING": Dimension.HOARDING,
            "INFRINGEMENT": Dimension.INFRINGEMENT,
            "SQUAT": Dimension.SQUATTING,
            "TRANSFER": Dimension.TRANSFER,
            "DECISION": Dimension.DECISIONS,
        }[prefix]

    def describe(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Reason.HOARDING_VOLUME: "files far more marks than a business need in a rolling window",
    Reason.HOARDING_GROUP_VOLUME: "its related-party group files far more marks than a business need",
    Reason.HOARDING_BURST: "files a burst of marks within a few days",
    Reason.HOARDING_CLASS_SPAN: "files across many unrelated classes / similar groups (类似群)",
    Reason.HOARDING_ALL_CLASS: "files the same mark across (nearly) all 45 classes without a house-mark link",
    Reason.HOARDING_COINED_MARKS: "most marks are unrelated to the applicant's own trade name",
    Reason.HOARDING_INDIVIDUAL_SCALE: "a natural person filing at company scale",
    Reason.HOARDING_REFUSAL_SHARE: "a high share of its filings are refused or withdrawn",
    Reason.HOARDING_REFILING: "files the same mark in the same class again and again, each time about when an "
                              "unused registration could be cancelled (evergreening, 撤三)",
    Reason.HOARDING_BROAD_SPEC: "claims (nearly) every similar group of a class in one filing: a class heading, "
                                "not the goods of a business",
    Reason.INFRINGEMENT_EXACT: "identical to a protected or clearly earlier mark of another owner",
    Reason.INFRINGEMENT_CONFUSABLE: "differs from another owner's mark only by look-alike letters (I/1/l, rn/m, 0/O)",
    Reason.INFRINGEMENT_EDIT: "a small spelling change of another owner's mark",
    Reason.INFRINGEMENT_PHONETIC: "sounds like another owner's mark",
    Reason.INFRINGEMENT_AFFIX: "another owner's mark with a generic word added or removed",
    Reason.INFRINGEMENT_REORDER: "another owner's mark with words or characters reordered",
    Reason.INFRINGEMENT_HOMOPHONE: "a Chinese homophone (same toneless pinyin) of another owner's mark",
    Reason.INFRINGEMENT_SHAPE: "uses shape-similar Chinese characters of another owner's mark",
    Reason.INFRINGEMENT_TRANSLITERATION: "a transliteration of another owner's mark across scripts",
    Reason.SQUAT_PLACE: "the mark is a place name (county level or above, or a foreign country/capital)",
    Reason.SQUAT_PERSON: "the mark is the name of a public figure",
    Reason.SQUAT_EVENT: "the mark is an event or its term, filed soon after the event",
    Reason.SQUAT_GENERIC: "the mark is a generic or industry term",
    Reason.SQUAT_TREND: "the mark is a term many unrelated applicants suddenly file together",
    Reason.TRANSFER_SHARE: "a large share of its marks are assigned away",
    Reason.TRANSFER_QUICK_FLIP: "marks are assigned soon after filing or registration",
    Reason.TRANSFER_MANY_ASSIGNEES: "marks go to many scattered, unrelated assignees",
    Reason.TRANSFER_AGENT_ASSIGNOR: "a trademark agent appears as the assignor",
    Reason.DECISION_BAD_FAITH: "effective refusal for bad-faith filing",
    Reason.DECISION_INVALIDATION: "registration invalidated",
    Reason.DECISION_PENALTY: "administrative penalty",
    Reason.DECISION_JUDGMENT: "court ruling for infringement",
    Reason.DECISION_OTHER: "other effective decision",
}

# The columns every builder's application-level flag table has.
FLAG_COLUMNS = ["application_id", "applicant_key", "reason", "evidence", "strength"]
