"""``import uspto``: convert USPTO trademark data into tmscreen's data contract.

Reads, in any mix:

* daily/annual applications XML (TDXF/TRTYRAP: ``<trademark-applications-daily>`` … ``<case-file>``),
* TSDR status XML, WIPO ST.66 (``<Transaction>``/``<TradeMark>``) and ST.96 (``<TrademarkTransaction>``),
* trademark assignment XML (``<trademark-assignments>`` … ``<assignment-entry>``),
* a folder or ``.zip`` holding any of these (``.xml.gz`` too),
* the USPTO Office of the Chief Economist *Trademark Case Files Dataset* CSV layout
  (``case_file.csv``, ``owner.csv``, ``intl_class.csv``, ``event.csv``, ``statement.csv``,
  ``correspondent_domrep_attorney.csv``),

and writes a dataset folder: ``applications.csv``, ``transfers.csv``, ``decisions.csv``,
``rejected/<table>.csv`` (quarantined records with a ``reason``) and ``import_report.json``.

XML is streamed with ``ElementTree.iterparse``; each record is dropped from the tree once
converted, so memory stays flat on multi-GB files. A broken record is quarantined and parsing
resumes at the next record. Output is written to a temporary folder beside ``out`` and renamed
into place at the end, so an interrupted import never leaves a folder that looks complete.

Mapping rules (status codes, party types, entity types, events → decisions) are documented in
``docs/import-uspto.md``; the status table ships next to this module as
``uspto_status_codes.csv``.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from core.errors import UserError
from core.reasons import DecisionKind

__all__ = [
    "APPLICATION_COLUMNS",
    "DECISION_COLUMNS",
    "TRANSFER_COLUMNS",
    "UsptoImportError",
    "import_uspto",
    "status_table",
]

# --------------------------------------------------------------------------- output schema

CONTRACT_APPLICATION_COLUMNS = [
    "application_id", "filing_date", "mark_text", "nice_classes", "goods_services",
    "applicant_name", "applicant_address", "applicant_country", "applicant_type",
    "agent_name", "status", "registration_date",
]
# Extra columns (allowed by the contract): kept because features and reviewers can use them.
APPLICATION_EXTRA_COLUMNS = ["registration_number", "uspto_status_code", "current_owner_name"]
APPLICATION_COLUMNS = CONTRACT_APPLICATION_COLUMNS + APPLICATION_EXTRA_COLUMNS

TRANSFER_COLUMNS = [
    "application_id", "transfer_date", "assignor_name", "assignee_name", "assignee_address",
    # extras: raw conveyance text, its category (assignment / merger / name_change /
    # security_interest / release / license / correction / other), reel/frame, recording date
    "conveyance", "conveyance_kind", "reel_frame", "recorded_date",
]
DECISION_COLUMNS = ["subject_name", "decision_date", "kind", "authority", "reference", "application_id"]
REJECT_COLUMNS = ["source", "position", "application_id", "reason", "excerpt"]

TABLE_COLUMNS = {
    "applications": APPLICATION_COLUMNS,
    "transfers": TRANSFER_COLUMNS,
    "decisions": DECISION_COLUMNS,
}

EXPECTED_KINDS = (
    "USPTO trademark XML (daily/annual applications <trademark-applications-daily>, "
    "assignments <trademark-assignments>, TSDR status ST.66 <Transaction> or ST.96 "
    "<TrademarkTransaction>), a folder or .zip of those, or a Trademark Case Files dataset "
    "folder (case_file.csv, owner.csv, intl_class.csv, …)"
)


class UsptoImportError(UserError, ValueError):
    """A source cannot be imported at all (missing, not USPTO data, unreadable)."""


class _BadRecord(Exception):
    """One record is malformed; it is quarantined and the import continues."""


# --------------------------------------------------------------------------- code tables

_STATUS_CSV = Path(__file__).with_name("uspto_status_codes.csv")
_STATUS: dict[str, tuple[str, str]] | None = None


def status_table() -> dict[str, tuple[str, str]]:
    """USPTO status code → (tmscreen status, USPTO description), from the shipped CSV.

    An empty tmscreen status means "not an application" (the record is quarantined).
    """
    global _STATUS
    if _STATUS is None:
        with _STATUS_CSV.open(encoding="utf-8", newline="") as fh:
            _STATUS = {r["code"]: (r["tmscreen_status"], r["description"]) for r in csv.DictReader(fh)}
    return _STATUS


# legal-entity-type-code (TDXF documentation, "Case File Owners") → applicant_type
ENTITY_TYPES: dict[str, tuple[str, str]] = {
    "01": ("INDIVIDUAL", "individual"),
    "02": ("PARTNERSHIP", "company"),
    "03": ("CORPORATION", "company"),
    "04": ("JOINT OWNERSHIP", "other"),
    "05": ("JOINT VENTURE", "company"),
    "06": ("INCORPORATED ASSOCIATION", "other"),
    "07": ("UNINCORPORATED ASSOCIATION", "other"),
    "08": ("TRUSTEE", "other"),
    "09": ("JOINT STOCK COMPANY", "company"),
    "10": ("LIMITED LIABILITY JOINT STOCK COMPANY", "company"),
    "11": ("COMPANY", "company"),
    "12": ("FOUNDATION", "other"),
    "13": ("LIMITED PARTNERSHIP", "company"),
    "14": ("STATE AGENCY", "other"),
    "15": ("FEDERAL AGENCY", "other"),
    "16": ("LIMITED LIABILITY COMPANY", "company"),
    "17": ("TRUST", "other"),
    "18": ("ESTATE", "other"),
    "19": ("SOLE PROPRIETORSHIP", "individual"),
    "98": ("UNKNOWN", "other"),
    "99": ("OTHER", "other"),
}
_ENTITY_BY_TEXT = {name: code for code, (name, _) in ENTITY_TYPES.items()}

# party-type text as printed by TSDR → party-type code (fallback when no code is given)
_PARTY_BY_TEXT = {
    "ORIGINAL APPLICANT": 10,
    "OWNER AT PUBLICATION": 20,
    "ORIGINAL REGISTRANT": 30,
}

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
# US territories carry their own ISO-3166 alpha-2 codes.
US_TERRITORIES = frozenset("PR GU VI AS MP UM".split())
_COUNTRY_ALIASES = {"UK": "GB"}

# Prosecution events that record a sanction, or a cancellation/refusal by an authority.
# code → (kind, authority, label). USPTO never records a "bad faith" ground, so the
# importer never emits kind=bad_faith_refusal.
PENALTY, INVALIDATION, OTHER = (DecisionKind.ADMINISTRATIVE_PENALTY.value, DecisionKind.INVALIDATION.value,
                                DecisionKind.OTHER.value)
_PENALTY = "USPTO (Commissioner for Trademarks)"
_TTAB = "USPTO Trademark Trial and Appeal Board"
_COURT = "US court (Lanham Act s.37)"
_DIRECTOR = "USPTO Director (TMA expungement/reexamination)"
DECISION_EVENTS: dict[str, tuple[str, str, str]] = {
    "KOFS": (PENALTY, _PENALTY, "order for sanctions"),
    "KONO": (PENALTY, _PENALTY, "order for sanctions - notice emailed"),
    "KBOC": (PENALTY, _PENALTY, "terminated after sanctions"),
    "C18.": (INVALIDATION, _TTAB, "cancelled section 18 - total"),
    "C18P": (INVALIDATION, _TTAB, "cancelled section 18 - partial"),
    "CANG": (INVALIDATION, _TTAB, "cancellation granted"),
    "C37.": (INVALIDATION, _COURT, "cancelled section 37 (court order) - total"),
    "C37P": (INVALIDATION, _COURT, "cancelled section 37 (court order) - partial"),
    "C6AF": (INVALIDATION, _DIRECTOR, "cancelled under section 16A (expungement) - full"),
    "C6AP": (INVALIDATION, _DIRECTOR, "cancelled under section 16A (expungement) - partial"),
    "C6BF": (INVALIDATION, _DIRECTOR, "cancelled under section 16B (reexamination) - full"),
    "C6BP": (INVALIDATION, _DIRECTOR, "cancelled under section 16B (reexamination) - partial"),
    "OP.S": (OTHER, _TTAB, "opposition sustained"),
}
# Current status codes that carry the same meaning (used when the event history is absent).
DECISION_STATUSES: dict[str, tuple[str, str, str]] = {
    "610": (PENALTY, _PENALTY, "status 610 terminated after sanctions"),
    "712": (INVALIDATION, _COURT, "status 712 cancelled by court order (section 37)"),
    "713": (INVALIDATION, _TTAB, "status 713 cancelled - section 18"),
    "714": (INVALIDATION, _TTAB, "status 714 cancelled - section 24"),
    "781": (INVALIDATION, _DIRECTOR, "status 781 cancelled - section 16A"),
    "782": (INVALIDATION, _DIRECTOR, "status 782 cancelled - section 16B"),
    "779": (OTHER, _TTAB, "status 779 opposition sustained"),
    "604": (OTHER, _TTAB, "status 604 abandoned after inter partes decision"),
}
# Event descriptions that name a sanction or fraud, for codes missing from the table above.
_DECISION_WORDS = [
    (re.compile(r"\bSANCTION", re.I), (PENALTY, _PENALTY)),
    (re.compile(r"\bFRAUD", re.I), (OTHER, "USPTO")),
]


# --------------------------------------------------------------------------- small helpers


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def _date(value: Any, what: str) -> str:
    """USPTO date (YYYYMMDD, YYYY-MM-DD[±zone], DDmonYYYY) → 'YYYY-MM-DD'; '' when empty.

    Raises _BadRecord naming the field when the value is present but not a date.
    """
    text = _clean(value)
    if not text or set(text) <= {"0", "-"}:
        return ""
    y = m = d = None
    if re.fullmatch(r"\d{8}", text):
        y, m, d = int(text[:4]), int(text[4:6]), int(text[6:])
    elif re.match(r"\d{4}-\d{2}-\d{2}", text):
        y, m, d = int(text[:4]), int(text[5:7]), int(text[8:10])
    elif mt := re.fullmatch(r"(\d{1,2})([A-Za-z]{3})(\d{4})", text):
        d, m, y = int(mt.group(1)), _MONTHS.get(mt.group(2).lower()), int(mt.group(3))
    try:
        if y is None or m is None or not 1800 <= y <= 2200:
            raise ValueError
        return date(y, m, d).isoformat()
    except (TypeError, ValueError):
        raise _BadRecord(f"unparsable {what}: {text!r}") from None


def _serial(value: Any) -> str:
    text = _clean(value).replace(",", "").replace("-", "")
    if text.endswith(".0"):
        text = text[:-2]
    if not text:
        raise _BadRecord("missing serial number")
    if not text.isdigit():
        raise _BadRecord(f"serial number is not numeric: {text!r}")
    return text.zfill(8)


def _skey(value: Any) -> str:
    """Serial number as a join key ('' when unusable)."""
    try:
        return _serial(value)
    except _BadRecord:
        return ""


def _nice_classes(codes: Iterable[Any]) -> str:
    out = set()
    for code in codes:
        text = _clean(code)
        if text.isdigit() and 1 <= int(text) <= 45:
            out.add(int(text))
    return ";".join(str(c) for c in sorted(out))


def _country(*candidates: tuple[str, str]) -> str:
    """First usable (country, state) pair → ISO alpha-2. A US state code means 'US'."""
    for country, state in candidates:
        c = _clean(country).upper()
        if len(c) == 2 and c.isalpha():
            return _COUNTRY_ALIASES.get(c, c)
        s = _clean(state).upper()
        if s in US_STATES:
            return "US"
        if s in US_TERRITORIES:
            return s
    return ""


def _entity(code: Any, text: Any = "") -> tuple[str, str]:
    """(legal-entity code, applicant_type) from a code ('3', '03') or its printed name."""
    c = _clean(code)
    if c.isdigit():
        c = c.zfill(2)
    if c not in ENTITY_TYPES:
        c = _ENTITY_BY_TEXT.get(_clean(text).upper(), "")
    return c, (ENTITY_TYPES[c][1] if c else "other")


def _join(parts: Iterable[Any], sep: str = ", ") -> str:
    return sep.join(p for p in (_clean(x) for x in parts) if p)


def _conveyance_kind(text: str) -> str:
    t = text.upper()
    if "RELEASE" in t:
        return "release"
    if "SECURITY" in t or "COLLATERAL" in t or "LIEN" in t or "MORTGAGE" in t:
        return "security_interest"
    if "MERGER" in t or "MERGE" in t:
        return "merger"
    if "CHANGE OF NAME" in t or "NAME CHANGE" in t or "CHANGE OF ENTITY" in t or "CONVERSION" in t:
        return "name_change"
    if "CORRECT" in t:
        return "correction"
    if "LICENSE" in t:
        return "license"
    if "ASSIGN" in t or "NUNC PRO TUNC" in t:
        return "assignment"
    return "other"


def _reel_frame(identifier: str) -> str:
    """TSDR AssignmentIdentifier '28490875' → '2849/0875' (reel/frame, as in assignment XML)."""
    ident = _clean(identifier)
    if ident.isdigit() and len(ident) > 4:
        return f"{int(ident[:-4])}/{ident[-4:]}"
    return ident


def _strip_ns(el: ET.Element) -> ET.Element:
    for node in el.iter():
        node.tag = _local(node.tag)
        if node.attrib:
            node.attrib = {_local(k): v for k, v in node.attrib.items()}
    return el


def _texts(el: ET.Element | None, path: str) -> list[str]:
    if el is None:
        return []
    return [t for t in (_clean(x.text) for x in el.iterfind(path)) if t]


def _text(el: ET.Element | None, path: str) -> str:
    if el is None:
        return ""
    return _clean(el.findtext(path))


# --------------------------------------------------------------------------- normalised record


@dataclass
class _Party:
    party_type: int | None
    name: str
    address: str = ""
    country: str = ""
    entity_code: str = ""
    applicant_type: str = "other"


@dataclass
class _Case:
    source: str
    serial: Any
    filing: Any
    status_code: str = ""
    status_date: Any = ""
    registration_date: Any = ""
    registration_number: str = ""
    mark: str = ""
    drawing_code: str = ""
    classes: list = field(default_factory=list)
    goods: list = field(default_factory=list)
    owners: list = field(default_factory=list)
    agent: str = ""
    opposition_pending: bool = False
    events: list = field(default_factory=list)  # (code, raw date, description)
    transaction_date: str = ""
    transfers: list = field(default_factory=list)  # dicts, application_id filled later


def _applicant_and_owner(owners: list[_Party]) -> tuple[_Party | None, _Party | None]:
    """Original applicant = party type 10, else the earliest party in the chain of title
    (lowest party-type code 10-69; 70 is a legacy correspondent). Current owner = highest."""
    chain = [p for p in owners if p.name and (p.party_type is None or 10 <= p.party_type < 70)]
    if not chain:
        return None, None
    typed = [p for p in chain if p.party_type is not None]
    if not typed:
        return chain[0], chain[0]
    return min(typed, key=lambda p: p.party_type), max(typed, key=lambda p: p.party_type)


def _convert(case: _Case, warnings: Counter) -> tuple[dict, list[dict], list[dict]]:
    """Normalised case → (applications row, decision rows, transfer rows). Raises _BadRecord."""
    serial = _serial(case.serial)
    filing = _date(case.filing, "filing date")
    if not filing:
        raise _BadRecord("missing filing date")
    registration = _date(case.registration_date, "registration date")
    applicant, owner = _applicant_and_owner(case.owners)
    if applicant is None:
        raise _BadRecord("no applicant/owner party in the record")

    code = _clean(case.status_code)
    if code.isdigit():
        code = code.zfill(3)
    status, description = status_table().get(code, (None, ""))
    if status is None:
        warnings[f"status code {code or '(missing)'} not in the USPTO status table: kept as pending"] += 1
        status = "pending"
    elif status == "":
        raise _BadRecord(f"status {code} ({description}) is not an application")
    if status == "pending" and case.opposition_pending:
        status = "opposed"

    classes = _nice_classes(case.classes)
    if not classes:
        us_only = _join(case.classes, " ")
        raise _BadRecord("no Nice class 1-45" + (f" (only US classes: {us_only})" if us_only else ""))
    drawing = _clean(case.drawing_code)
    mark = "" if drawing.startswith("2") else _clean(case.mark)
    regno = _clean(case.registration_number)
    if set(regno) <= {"0"}:
        regno = ""
    row = {
        "application_id": serial,
        "filing_date": filing,
        "mark_text": mark,
        "nice_classes": classes,
        "goods_services": " | ".join(g for g in (_clean(x) for x in case.goods) if g),
        "applicant_name": applicant.name,
        "applicant_address": applicant.address,
        "applicant_country": applicant.country,
        "applicant_type": applicant.applicant_type,
        "agent_name": _clean(case.agent),
        "status": status,
        "registration_date": registration,
        "registration_number": regno,
        "uspto_status_code": code,
        "current_owner_name": owner.name if owner else "",
    }

    subject = owner.name if owner else applicant.name
    decisions: list[dict] = []
    for ev_code, ev_date, ev_desc in case.events:
        ev_code = _clean(ev_code).upper()
        if len(ev_code) == 5:  # ST.96 appends the event type letter to the 4-character code
            ev_code = ev_code[:4]
        hit = DECISION_EVENTS.get(ev_code)
        if hit is None:
            for rx, (kind, authority) in _DECISION_WORDS:
                if rx.search(ev_desc or ""):
                    hit = (kind, authority, _clean(ev_desc).lower())
                    break
        if hit is None:
            continue
        try:
            when = _date(ev_date, "event date") or _date(case.status_date, "status date")
        except _BadRecord:
            when = ""
        if not when:
            warnings["decision event without a date: skipped"] += 1
            continue
        decisions.append(_decision(subject, when, hit, serial, f"event {ev_code}"))
    if code in DECISION_STATUSES:
        try:
            when = _date(case.status_date, "status date")
        except _BadRecord:
            when = ""
        if when:
            decisions.append(_decision(subject, when, DECISION_STATUSES[code], serial, "status"))
    # one decision per (application, kind): the earliest
    best: dict[str, dict] = {}
    for d in sorted(decisions, key=lambda d: d["decision_date"]):
        best.setdefault(d["kind"], d)

    transfers = []
    for t in case.transfers:
        t = dict(t, application_id=serial)
        transfers.append(t)
    return row, list(best.values()), transfers


def _decision(subject: str, when: str, hit: tuple[str, str, str], serial: str, via: str) -> dict:
    kind, authority, label = hit
    return {
        "subject_name": subject,
        "decision_date": when,
        "kind": kind,
        "authority": authority,
        "reference": f"USPTO serial {serial} {via}: {label}",
        "application_id": serial,
    }


# --------------------------------------------------------------------------- XML record parsers


def _parse_case_file(el: ET.Element, source: str) -> _Case:
    """Daily/annual applications XML <case-file> (TDXF v2.x)."""
    hdr = el.find("case-file-header")
    owners = []
    for o in el.iterfind("case-file-owners/case-file-owner"):
        pt = _text(o, "party-type")
        code, kind = _entity(o.findtext("legal-entity-type-code"))
        owners.append(_Party(
            party_type=int(pt) if pt.isdigit() else None,
            name=_text(o, "party-name"),
            address=_join([o.findtext(f"address-{i}") for i in range(1, 6)]
                          + [o.findtext("city"), o.findtext("state"), o.findtext("postcode")]),
            country=_country((o.findtext("country"), o.findtext("state")),
                             (o.findtext("nationality/country"), o.findtext("nationality/state"))),
            entity_code=code,
            applicant_type=kind,
        ))
    agent = _text(hdr, "attorney-name") or _text(el, "correspondent/address-1")
    goods = [s.findtext("text") for s in el.iterfind("case-file-statements/case-file-statement")
             if _clean(s.findtext("type-code")).startswith("GS")]
    events = [(e.findtext("code"), e.findtext("date"), e.findtext("description-text"))
              for e in el.iterfind("case-file-event-statements/case-file-event-statement")]
    return _Case(
        source=source,
        serial=el.findtext("serial-number"),
        filing=_text(hdr, "filing-date"),
        status_code=_text(hdr, "status-code"),
        status_date=_text(hdr, "status-date"),
        registration_date=_text(hdr, "registration-date"),
        registration_number=_text(el, "registration-number"),
        mark=_text(hdr, "mark-identification"),
        drawing_code=_text(hdr, "mark-drawing-code"),
        classes=_texts(el, "classifications/classification/international-code"),
        goods=goods,
        owners=owners,
        agent=agent,
        opposition_pending=_text(hdr, "opposition-pending-in") == "T",
        events=events,
        transaction_date=_text(el, "transaction-date"),
    )


def _tsdr_assignment(a: ET.Element, st96: bool) -> list[dict]:
    conveyance = _text(a, "AssignmentConveyanceCategory")
    recorded = _date(_text(a, "AssignmentRecordedDate"), "assignment recorded date")
    executed_all = _text(a, "AssignmentExecutedDate") if st96 else ""
    assignors = a.findall("AssignorBag/Assignor") if st96 else a.findall("Assignor")
    assignees = a.findall("AssigneeBag/Assignee") if st96 else a.findall("Assignee")
    rows = []
    for r in assignors or [None]:
        executed = executed_all or _text(r, "AssignmentExecutionDate")
        when = _date(executed, "assignment execution date") or recorded
        for e in assignees or [None]:
            rows.append({
                "transfer_date": when,
                "assignor_name": _contact_name(r),
                "assignee_name": _contact_name(e),
                "assignee_address": _contact_address(e),
                "conveyance": conveyance,
                "conveyance_kind": _conveyance_kind(conveyance),
                "reel_frame": _reel_frame(_text(a, "AssignmentIdentifier")),
                "recorded_date": recorded,
            })
    return rows


def _contact_name(el: ET.Element | None) -> str:
    if el is None:
        return ""
    for path in ("Contact/Name/EntityName", "Contact/Name/OrganizationName/OrganizationStandardName",
                 "Contact/Name/PersonName/PersonFullName"):
        if name := _text(el, path):
            return name
    return ""


def _contact_address(el: ET.Element | None) -> str:
    if el is None:
        return ""
    pa = el.find("Contact/PostalAddressBag/PostalAddress")
    if pa is None:
        return ""
    st = pa.find("PostalStructuredAddress")
    if st is not None:
        return _join(_texts(st, "AddressLineText") + [st.findtext("CityName"),
                     st.findtext("GeographicRegionName"), st.findtext("PostalCode")])
    return _join(_texts(pa, "PostalAddressText"))


def _parse_st66(rec: ET.Element, source: str) -> _Case:
    """TSDR ST.66 <TransactionData> (namespaces stripped)."""
    tm = rec.find("TradeMarkDetails/TradeMark")
    if tm is None:
        tm = rec.find(".//TradeMark")
    if tm is None:
        raise _BadRecord("no <TradeMark> element")
    owners = []
    for a in rec.iterfind(".//ApplicantDetails/Applicant"):
        pt = _text(a, "ApplicantExt/PartyTypeCode")
        party = int(pt) if pt.isdigit() else _PARTY_BY_TEXT.get(
            _text(a, "ApplicantExt/PartyTypeDescriptionText").upper())
        fna = a.find("ApplicantAddressBook/FormattedNameAddress")
        addr = fna.find("Address/FormattedAddress") if fna is not None else None
        lines = []
        if addr is not None:
            lines = [c.text for c in addr if c.tag in {
                "AddressRoom", "AddressBuilding", "AddressStreet", "AddressLine", "AddressMailbox",
                "AddressCity", "AddressCounty", "AddressState", "AddressPostcode"}]
        code, kind = _entity(_text(a, "ApplicantExt/ApplicantLegalEntityCode"),
                             _text(a, "ApplicantLegalEntity"))
        owners.append(_Party(
            party_type=party,
            name=_join(_texts(fna, "Name/FreeFormatName/FreeFormatNameDetails/FreeFormatNameLine"), " "),
            address=_join(lines),
            country=_country((_text(addr, "FormattedAddressCountryCode"), ""),
                             (_text(a, "ApplicantNationalityCode"), ""),
                             (_text(a, "ApplicantIncorporationCountryCode"), "")),
            entity_code=code,
            applicant_type=kind,
        ))
    attorney = correspondent = ""
    for rep in tm.iterfind("RepresentativeDetails/Representative"):
        comment = _text(rep, "Comment").lower()
        names = _texts(rep, ".//FreeFormatNameLine")
        if not names:
            continue
        if "attorney" in comment and not attorney:
            attorney = names[0]
        elif "correspondent" in comment and not correspondent:
            correspondent = names[0]
    classes, goods = [], []
    for cd in tm.iterfind("GoodsServicesDetails/GoodsServices/ClassDescriptionDetails/ClassDescription"):
        classes.append(cd.findtext("ClassNumber"))
        goods.append(cd.findtext("GoodsServicesDescription"))
    events = [(e.findtext("MarkEventCode"), e.findtext("MarkEventDate"),
               e.findtext("MarkEventExt/MarkEventInternalDescriptionText"))
              for e in tm.iterfind("MarkEventDetails/MarkEvent")]
    transfers = []
    for a in tm.iterfind("AssignmentBagExt/Assignment"):
        transfers += _tsdr_assignment(a, st96=False)
    return _Case(
        source=source,
        serial=_text(tm, "ApplicationNumber"),
        filing=_text(tm, "ApplicationDate"),
        status_code=_text(tm, "MarkCurrentStatusCode"),
        status_date=_text(tm, "MarkCurrentStatusDate"),
        registration_date=_text(tm, "RegistrationDate"),
        registration_number=_text(tm, "RegistrationNumber"),
        mark=_text(tm, "WordMarkSpecification/MarkVerbalElementText"),
        drawing_code=_text(tm, "TradeMarkExt/MarkFeatureCode"),
        classes=classes,
        goods=goods,
        owners=owners,
        agent=attorney or correspondent,
        events=events,
        transfers=transfers,
    )


def _parse_st96(tm: ET.Element, source: str) -> _Case:
    """TSDR ST.96 <Trademark> (namespaces stripped)."""
    owners = []
    for a in tm.iterfind("ApplicantBag/Applicant"):
        seq = _clean(a.get("sequenceNumber"))
        comment = _text(a, ".//CommentText").upper()
        party = int(seq) if seq.isdigit() else _PARTY_BY_TEXT.get(comment)
        st = a.find("Contact/PostalAddressBag/PostalAddress/PostalStructuredAddress")
        code, kind = _entity(_text(a, "NationalLegalEntityCode"), _text(a, "LegalEntityName"))
        owners.append(_Party(
            party_type=party,
            name=_contact_name(a),
            address=_contact_address(a),
            country=_country((_text(st, "CountryCode"), ""),
                             (_text(a, "NationalityCode"), ""),
                             (_text(a, "IncorporationCountryCode"), "")),
            entity_code=code,
            applicant_type=kind,
        ))
    classes_by_kind: dict[str, list[str]] = {}
    for c in tm.iterfind("GoodsServicesBag/GoodsServices/GoodsServicesClassificationBag/"
                         "GoodsServicesClassification"):
        classes_by_kind.setdefault(_text(c, "ClassificationKindCode"), []).append(_text(c, "ClassNumber"))
    classes = classes_by_kind.get("Nice") or classes_by_kind.get("Primary") or []
    goods = _texts(tm, "GoodsServicesBag/GoodsServices/ClassDescriptionBag/ClassDescription/"
                       "GoodsServicesDescriptionText")
    agent = (_text(tm, "RecordAttorney/Contact/Name/PersonName/PersonFullName")
             or _text(tm, "NationalCorrespondent/Contact/Name/PersonName/PersonFullName")
             or _text(tm, "NationalCorrespondent/Contact/Name/OrganizationName/OrganizationStandardName"))
    events = [(e.findtext("NationalMarkEvent/MarkEventCode"), e.findtext("MarkEventDate"),
               e.findtext("NationalMarkEvent/MarkEventDescriptionText"))
              for e in tm.iterfind("MarkEventBag/MarkEvent")]
    transfers = []
    for a in tm.iterfind("AssignmentBag/Assignment"):
        transfers += _tsdr_assignment(a, st96=True)
    return _Case(
        source=source,
        serial=_text(tm, "ApplicationNumber/ApplicationNumberText"),
        filing=_text(tm, "ApplicationDate"),
        status_code=_text(tm, "MarkCurrentStatusCode"),
        status_date=_text(tm, "MarkCurrentStatusDate"),
        registration_date=_text(tm, "RegistrationDate"),
        registration_number=_text(tm, "RegistrationNumber"),
        mark=_text(tm, ".//WordMarkSpecification/MarkVerbalElementText"),
        drawing_code=_text(tm, ".//NationalMarkDescription/MarkFeatureCode"),
        classes=classes,
        goods=goods,
        owners=owners,
        agent=agent,
        events=events,
        transfers=transfers,
    )


def _parse_assignment(el: ET.Element) -> tuple[list[dict], list[str]]:
    """<assignment-entry> → (transfer rows with application_id, reasons for rejected properties)."""
    a = el.find("assignment")
    reel, frame = _text(a, "reel-no"), _text(a, "frame-no")
    reel_frame = f"{reel}/{frame}" if reel or frame else ""
    conveyance = _text(a, "conveyance-text")
    recorded = _date(_text(a, "date-recorded"), "date-recorded")
    assignors = el.findall("assignors/assignor")
    assignees = el.findall("assignees/assignee")
    if not assignors and not assignees:
        raise _BadRecord("assignment without assignor and assignee")
    rows, rejected = [], []
    for prop in el.iterfind("properties/property"):
        try:
            serial = _serial(prop.findtext("serial-no"))
        except _BadRecord as exc:
            regno = _text(prop, "registration-no")
            rejected.append(f"{exc} in property (registration-no {regno or 'none'})")
            continue
        for r in assignors or [None]:
            when = (_date(_text(r, "execution-date"), "execution-date")
                    or _date(_text(r, "date-acknowledged"), "date-acknowledged") or recorded)
            for e in assignees or [None]:
                rows.append({
                    "application_id": serial,
                    "transfer_date": when,
                    "assignor_name": _text(r, "person-or-organization-name"),
                    "assignee_name": _text(e, "person-or-organization-name"),
                    "assignee_address": _join([e.findtext(f"address-{i}") for i in range(1, 5)]
                                              + [e.findtext("city"), e.findtext("state"),
                                                 e.findtext("postcode")]) if e is not None else "",
                    "conveyance": conveyance,
                    "conveyance_kind": _conveyance_kind(conveyance),
                    "reel_frame": reel_frame,
                    "recorded_date": recorded,
                })
    if not rows and not rejected:
        raise _BadRecord("assignment without any property (serial-no)")
    return rows, rejected


# --------------------------------------------------------------------------- sources

_DAILY_ROOTS = {"trademark-applications-daily", "trademark-applications", "case-file"}
_ASSIGN_ROOTS = {"trademark-assignments", "us-trademark-assignments", "assignment-entry"}
_XML_SUFFIXES = (".xml", ".xml.gz")
_CASEFILE_TABLES = ("case_file.csv", "owner.csv", "intl_class.csv", "event.csv", "statement.csv",
                    "correspondent_domrep_attorney.csv", "classification.csv")


class _CountingReader:
    """File wrapper counting bytes read, for progress."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def readline(self, n: int = -1) -> bytes:
        data = self.raw.readline(n)
        self.count += len(data)
        return data

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Unit:
    label: str
    opener: Callable[[], IO[bytes]]
    size: int | None
    explicit: bool
    kind: str = ""
    tables: dict[str, Callable[[], IO[bytes]]] | None = None

    def open(self) -> _CountingReader:
        return _CountingReader(self.opener())


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    if path.name.lower().endswith(".gz"):
        return lambda: gzip.open(path, "rb")
    return lambda: open(path, "rb")


def _size(path: Path) -> int | None:
    """Uncompressed size for the progress bar (unknown for .gz)."""
    return None if path.name.lower().endswith(".gz") else path.stat().st_size


def _zip_opener(zpath: Path, member: str) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        zf = zipfile.ZipFile(zpath)
        fh = zf.open(member)
        close = fh.close

        def closing() -> None:  # close the archive together with the member
            close()
            zf.close()

        fh.close = closing  # type: ignore[method-assign]
        return fh

    return opener


def _expand(source: str | Path, skipped: list[dict]) -> list[_Unit]:
    path = Path(source)
    if not path.exists():
        raise UsptoImportError(f"{path}: no such file or folder; expected {EXPECTED_KINDS}")
    if path.is_dir():
        units = _expand_dir(path, skipped)
        if not units:
            raise UsptoImportError(f"{path}: the folder holds nothing importable; expected {EXPECTED_KINDS}")
        return units
    name = path.name.lower()
    if name in _CASEFILE_TABLES:
        return _expand_dir(path.parent, skipped, casefiles_only=True)
    if name.endswith(".zip"):
        units = _expand_zip(path, skipped, explicit=True)
        if not units:
            raise UsptoImportError(f"{path}: the archive holds nothing importable; expected {EXPECTED_KINDS}")
        return units
    return [_Unit(str(path), _file_opener(path), _size(path), explicit=True)]


def _expand_dir(folder: Path, skipped: list[dict], casefiles_only: bool = False) -> list[_Unit]:
    units: list[_Unit] = []
    names = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    if "case_file.csv" in names:
        tables = {n: _file_opener(p) for n, p in names.items() if n in _CASEFILE_TABLES}
        units.append(_Unit(str(folder), tables["case_file.csv"], names["case_file.csv"].stat().st_size,
                           explicit=True, kind="casefiles", tables=tables))
    elif casefiles_only:
        raise UsptoImportError(f"{folder}: no case_file.csv beside the given table; "
                               "a Trademark Case Files dataset needs case_file.csv")
    if casefiles_only:
        return units
    for p in sorted(folder.iterdir()):
        low = p.name.lower()
        if low.startswith("."):  # hidden, including unfinished imports (.NAME.importing-*)
            continue
        if p.is_dir():
            units += _expand_dir(p, skipped)
        elif low in _CASEFILE_TABLES:
            continue
        elif low.endswith(_XML_SUFFIXES):
            units.append(_Unit(str(p), _file_opener(p), _size(p), explicit=False))
        elif low.endswith(".zip"):
            units += _expand_zip(p, skipped, explicit=False)
        else:
            skipped.append({"path": str(p), "reason": "not .xml, .xml.gz, .zip or a case-files table"})
    return units


def _expand_zip(zpath: Path, skipped: list[dict], explicit: bool) -> list[_Unit]:
    try:
        with zipfile.ZipFile(zpath) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsptoImportError(f"{zpath}: not a readable .zip archive ({exc}); expected {EXPECTED_KINDS}") from None
    units: list[_Unit] = []
    by_dir: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for info in infos:
        d, _, base = info.filename.rpartition("/")
        by_dir.setdefault(d, {})[base.lower()] = info
    for d, members in sorted(by_dir.items()):
        if "case_file.csv" in members:
            tables = {n: _zip_opener(zpath, i.filename) for n, i in members.items() if n in _CASEFILE_TABLES}
            units.append(_Unit(f"{zpath}!{d or '/'}", tables["case_file.csv"],
                               members["case_file.csv"].file_size, explicit=True, kind="casefiles",
                               tables=tables))
        for base, info in sorted(members.items()):
            label = f"{zpath}!{info.filename}"
            if base.endswith(".xml"):
                units.append(_Unit(label, _zip_opener(zpath, info.filename), info.file_size, explicit=explicit))
            elif base in _CASEFILE_TABLES and "case_file.csv" in members:
                continue
            else:
                skipped.append({"path": label, "reason": "not an .xml member or a case-files table"})
    return units


def _detect(unit: _Unit) -> str:
    """Kind of an XML unit from its root element: daily / assignments / st66 / st96."""
    if unit.kind:
        return unit.kind
    try:
        with unit.open() as fh:
            head = fh.read(4)
        if head[:2] == b"PK":
            raise UsptoImportError(f"{unit.label}: is a zip archive without the .zip suffix; rename it")
        with unit.open() as fh:
            for _event, el in ET.iterparse(fh, events=("start",)):
                root, ns = _local(el.tag), el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""
                break
            else:
                raise ET.ParseError("empty document")
    except ET.ParseError as exc:
        raise UsptoImportError(f"{unit.label}: not readable as XML ({exc}); expected {EXPECTED_KINDS}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsptoImportError(f"{unit.label}: cannot be read ({exc}); expected {EXPECTED_KINDS}") from None
    if root in _DAILY_ROOTS:
        return "applications_xml"
    if root in _ASSIGN_ROOTS:
        return "assignments_xml"
    if root in {"Transaction", "TrademarkTransaction"}:
        return "tsdr_st96" if "ST96" in ns.upper() else "tsdr_st66"
    raise UsptoImportError(
        f"{unit.label}: XML root <{root}> is not a USPTO trademark format; expected {EXPECTED_KINDS}")


# --------------------------------------------------------------------------- streaming

_SERIAL_TAGS = {"serial-number", "serial-no", "ApplicationNumber", "ApplicationNumberText"}
_SERIAL_RX = re.compile(rb"<(?:serial-number|serial-no)>\s*(\d+)\s*<")


def _iter_records(unit: _Unit, record: str, recover: bool, tick: Callable[[int], None]
                  ) -> Iterator[tuple[ET.Element | None, str, str, str]]:
    """Yield (element, position, error, serial hint) per record.

    Streams with iterparse and removes every finished record from its parent so memory stays
    flat. On broken XML the error is yielded; with ``recover`` the file is then re-scanned from
    the error position and each later ``<record>…</record>`` fragment is parsed on its own.
    """
    n = 0
    hint = ""
    with unit.open() as fh:
        stack: list[ET.Element] = []
        try:
            for event, el in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    stack.append(el)
                    continue
                stack.pop()
                name = _local(el.tag)
                if name in _SERIAL_TAGS and el.text and not hint:
                    hint = el.text.strip()
                if name != record:
                    continue
                n += 1
                yield el, f"record {n}", "", hint
                hint = ""
                el.clear()
                if stack:
                    stack[-1].remove(el)
                if n % 200 == 0:
                    tick(fh.count)
        except ET.ParseError as exc:
            line, col = exc.position
            where = f"line {line}, column {col}"
            yield None, f"record {n + 1} ({where})", f"broken XML: {exc}", hint
            if not recover:
                return
        else:
            tick(fh.count)
            return
    # resume after the error: parse each later fragment on its own
    for frag_el, frag_err, frag_hint in _scan_fragments(unit, record, line, col):
        n += 1
        yield frag_el, f"record {n} (recovered after {where})", frag_err, frag_hint


def _scan_fragments(unit: _Unit, record: str, line: int, col: int
                    ) -> Iterator[tuple[ET.Element | None, str, str]]:
    start_rx = re.compile(rb"<" + re.escape(record.encode()) + rb"[\s>]")
    end = b"</" + record.encode() + b">"
    keep = len(record) + 2
    with unit.open() as fh:
        for _ in range(max(line - 1, 0)):
            if not fh.readline():
                return
        buf = fh.readline()[col:]
        while True:
            m = start_rx.search(buf)
            if m is None:
                chunk = fh.read(1 << 20)
                if not chunk:
                    return
                buf = buf[-keep:] + chunk
                continue
            buf = buf[m.start():]
            stop = buf.find(end)
            while stop < 0:
                chunk = fh.read(1 << 20)
                if not chunk:
                    mt = _SERIAL_RX.search(buf)
                    yield None, "broken XML: file ends inside a record", mt.group(1).decode() if mt else ""
                    return
                buf += chunk
                stop = buf.find(end)
            frag, buf = buf[: stop + len(end)], buf[stop + len(end):]
            try:
                yield ET.fromstring(frag), "", ""
            except ET.ParseError as exc:
                mt = _SERIAL_RX.search(frag)
                yield None, f"broken XML fragment: {exc}", mt.group(1).decode() if mt else ""


# --------------------------------------------------------------------------- output


class _Output:
    """Writes the dataset tables into a temporary folder; keeps counts for the report."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        (tmp / "rejected").mkdir()
        self._files: dict[str, Any] = {}
        self._writers: dict[str, csv.DictWriter] = {}
        self._open("applications.raw", APPLICATION_COLUMNS + ["_seq"])
        self._open("transfers", TRANSFER_COLUMNS)
        self.best: dict[str, tuple[str, int]] = {}  # serial → (transaction date, seq) of the kept row
        self.seq = 0
        self.app_rows = 0
        self.transfer_rows = 0
        self._transfer_keys: set[int] = set()
        self.decisions: dict[tuple[str, str], dict] = {}
        self.rejected: dict[str, Counter] = {}
        self.warnings: Counter = Counter()

    def _open(self, name: str, columns: list[str], key: str = "") -> None:
        fh = open(self.tmp / f"{name}.csv", "w", encoding="utf-8", newline="")
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        self._files[key or name], self._writers[key or name] = fh, w

    def application(self, row: dict, transaction_date: str) -> None:
        self.seq += 1
        key = (transaction_date or "", self.seq)
        prev = self.best.get(row["application_id"])
        if prev is None or key >= prev:
            self.best[row["application_id"]] = key
        self._writers["applications.raw"].writerow({**row, "_seq": self.seq})
        self.app_rows += 1

    def transfer(self, row: dict) -> None:
        if row.get("reel_frame"):
            k = hash((row["application_id"], row["reel_frame"], row["assignor_name"].upper(),
                      row["assignee_name"].upper()))
            if k in self._transfer_keys:
                return
            self._transfer_keys.add(k)
        self._writers["transfers"].writerow(row)
        self.transfer_rows += 1

    def decision(self, row: dict) -> None:
        key = (row["application_id"], row["kind"])
        prev = self.decisions.get(key)
        if prev is None or row["decision_date"] < prev["decision_date"]:
            self.decisions[key] = row

    def reject(self, table: str, source: str, position: str, application_id: str, reason: str,
               excerpt: str = "") -> None:
        name = f"rejected/{table}"
        if name not in self._writers:
            self._open(name, REJECT_COLUMNS)
        self._writers[name].writerow({"source": source, "position": position,
                                      "application_id": application_id, "reason": reason,
                                      "excerpt": excerpt[:300]})
        self.rejected.setdefault(table, Counter())[reason.split(":")[0]] += 1

    def finish(self) -> dict[str, int]:
        for fh in self._files.values():
            fh.close()
        raw = self.tmp / "applications.raw.csv"
        kept = 0
        with open(raw, encoding="utf-8", newline="") as src, \
                open(self.tmp / "applications.csv", "w", encoding="utf-8", newline="") as dst:
            w = csv.DictWriter(dst, fieldnames=APPLICATION_COLUMNS, lineterminator="\n")
            w.writeheader()
            for row in csv.DictReader(src):
                seq = int(row.pop("_seq"))
                if self.best[row["application_id"]][1] == seq:
                    w.writerow(row)
                    kept += 1
        raw.unlink()
        with open(self.tmp / "decisions.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=DECISION_COLUMNS, lineterminator="\n")
            w.writeheader()
            for row in sorted(self.decisions.values(), key=lambda r: (r["application_id"], r["kind"])):
                w.writerow(row)
        return {"applications": kept, "transfers": self.transfer_rows, "decisions": len(self.decisions),
                "duplicates_dropped": self.app_rows - kept}


# --------------------------------------------------------------------------- importers per kind


def _run_cases(unit: _Unit, out: _Output, cases: Iterable[tuple[_Case | None, str, str, str]],
               stats: dict) -> None:
    for case, position, error, hint in cases:
        stats["records"] += 1
        if case is None:
            stats["rejected"] += 1
            out.reject("applications", unit.label, position, hint, error)
            continue
        try:
            row, decisions, transfers = _convert(case, out.warnings)
        except _BadRecord as exc:
            stats["rejected"] += 1
            serial = _clean(case.serial)
            out.reject("applications", unit.label, position, serial, str(exc),
                       f"mark={_clean(case.mark)!r} filing={_clean(case.filing)!r}")
            continue
        out.application(row, case.transaction_date)
        for d in decisions:
            out.decision(d)
        for t in transfers:
            out.transfer(t)


def _xml_cases(unit: _Unit, kind: str, tick: Callable[[int], None]
               ) -> Iterator[tuple[_Case | None, str, str, str]]:
    record, parse, strip = {
        "applications_xml": ("case-file", _parse_case_file, False),
        "tsdr_st66": ("TransactionData", _parse_st66, True),
        "tsdr_st96": ("Trademark", _parse_st96, True),
    }[kind]
    for el, position, error, hint in _iter_records(unit, record, recover=not strip, tick=tick):
        if el is None:
            yield None, position, error, hint
            continue
        try:
            yield parse(_strip_ns(el) if strip else el, unit.label), position, "", hint
        except _BadRecord as exc:
            yield None, position, str(exc), hint


def _run_assignments(unit: _Unit, out: _Output, stats: dict, tick: Callable[[int], None]) -> None:
    for el, position, error, hint in _iter_records(unit, "assignment-entry", recover=True, tick=tick):
        stats["records"] += 1
        if el is None:
            stats["rejected"] += 1
            out.reject("transfers", unit.label, position, hint, error)
            continue
        reel_frame = f"{_text(el, 'assignment/reel-no')}/{_text(el, 'assignment/frame-no')}"
        try:
            rows, bad = _parse_assignment(el)
        except _BadRecord as exc:
            stats["rejected"] += 1
            out.reject("transfers", unit.label, f"{position} reel/frame {reel_frame}", hint, str(exc))
            continue
        for reason in bad:
            stats["rejected"] += 1
            out.reject("transfers", unit.label, f"{position} reel/frame {reel_frame}", "", reason)
        for row in rows:
            out.transfer(row)


def _run_casefiles(unit: _Unit, out: _Output, stats: dict, tick: Callable[[int], None]) -> None:
    """USPTO OCE Trademark Case Files dataset (CSV tables keyed by serial_no)."""
    import pandas as pd

    tables = unit.tables or {}

    def header(name: str) -> list[str]:
        with tables[name]() as fh:
            first = fh.readline().decode("utf-8-sig", errors="replace")
        return next(csv.reader([first]), [])

    def chunks(name: str, wanted: set[str], size: int = 200_000) -> Iterator[Any]:
        cols = [c for c in header(name) if c in wanted]
        with tables[name]() as fh:
            yield from pd.read_csv(fh, dtype=str, keep_default_na=False, usecols=cols,
                                   chunksize=size, encoding="utf-8")

    cf_cols = header("case_file.csv")
    missing = [c for c in ("serial_no", "filing_dt") if c not in cf_cols]
    if missing:
        raise UsptoImportError(f"{unit.label}/case_file.csv: missing column(s) {missing}; a Trademark "
                               f"Case Files case_file.csv has serial_no, filing_dt, registration_dt, "
                               f"cfh_status_cd, mark_id_char, …; found {cf_cols[:12]}")

    owners: dict[str, list[_Party]] = {}
    if "owner.csv" in tables:
        wanted = {"serial_no", "own_type_cd", "own_name", "own_entity_cd", "own_entity_desc",
                  "own_addr_1", "own_addr_2", "own_addr_city", "own_addr_state_cd",
                  "own_addr_postal", "own_addr_country_cd", "own_nalty_country_cd",
                  "own_nalty_state_cd"}
        for ch in chunks("owner.csv", wanted):
            for r in ch.to_dict("records"):
                pt = _clean(r.get("own_type_cd"))
                code, kind = _entity(r.get("own_entity_cd"), r.get("own_entity_desc", ""))
                party = _Party(
                    party_type=int(float(pt)) if re.fullmatch(r"\d+(\.0)?", pt) else None,
                    name=_clean(r.get("own_name")),
                    address=_join([r.get("own_addr_1"), r.get("own_addr_2"), r.get("own_addr_city"),
                                   r.get("own_addr_state_cd"), r.get("own_addr_postal")]),
                    country=_country((r.get("own_addr_country_cd"), r.get("own_addr_state_cd")),
                                     (r.get("own_nalty_country_cd"), r.get("own_nalty_state_cd"))),
                    entity_code=code, applicant_type=kind)
                key = _skey(r.get("serial_no"))
                if not key:
                    continue
                lst = owners.setdefault(key, [])
                lst.append(party)
                if len(lst) > 2:  # keep only the earliest and the latest party of the chain
                    first, last = _applicant_and_owner(lst)
                    owners[key] = [p for p in (first, last) if p is not None]
    classes: dict[str, list[str]] = {}
    if "intl_class.csv" in tables:
        for ch in chunks("intl_class.csv", {"serial_no", "intl_class_cd"}):
            for s, c in zip(ch["serial_no"], ch["intl_class_cd"], strict=True):
                classes.setdefault(_skey(s), []).append(c)
    attorneys: dict[str, str] = {}
    if "correspondent_domrep_attorney.csv" in tables and "attorney_name" not in cf_cols:
        for ch in chunks("correspondent_domrep_attorney.csv", {"serial_no", "attorney_name"}):
            for s, a in zip(ch["serial_no"], ch["attorney_name"], strict=True):
                if _clean(a):
                    attorneys[_skey(s)] = _clean(a)
    goods: dict[str, list[str]] = {}
    if "statement.csv" in tables:
        for ch in chunks("statement.csv", {"serial_no", "statement_type_cd", "statement_text"}):
            gs = ch[ch["statement_type_cd"].str.startswith("GS")]
            for s, t in zip(gs["serial_no"], gs["statement_text"], strict=True):
                goods.setdefault(_skey(s), []).append(t)
    events: dict[str, list[tuple[str, str, str]]] = {}
    if "event.csv" in tables:
        for ch in chunks("event.csv", {"serial_no", "event_cd", "event_dt"}, size=1_000_000):
            hit = ch[ch["event_cd"].str.strip().str.upper().isin(list(DECISION_EVENTS))]
            for s, c, d in zip(hit["serial_no"], hit["event_cd"], hit["event_dt"], strict=True):
                events.setdefault(_skey(s), []).append((c, d, ""))

    status_col = "cfh_status_cd" if "cfh_status_cd" in cf_cols else "status_cd"
    status_dt_col = "cfh_status_dt" if "cfh_status_dt" in cf_cols else "status_dt"
    wanted = {"serial_no", "filing_dt", "registration_dt", "registration_no", status_col, status_dt_col,
              "mark_id_char", "mark_draw_cd", "attorney_name", "opposit_pend_in"}
    line = 1
    for ch in chunks("case_file.csv", wanted):
        for r in ch.to_dict("records"):
            line += 1
            key = _skey(r.get("serial_no"))
            case = _Case(
                source=unit.label, serial=r.get("serial_no"), filing=r.get("filing_dt"),
                status_code=_clean(r.get(status_col)).split(".")[0],
                status_date=r.get(status_dt_col, ""),
                registration_date=r.get("registration_dt", ""),
                registration_number=_clean(r.get("registration_no")),
                mark=_clean(r.get("mark_id_char")), drawing_code=_clean(r.get("mark_draw_cd")),
                classes=classes.get(key, []), goods=goods.get(key, []), owners=owners.get(key, []),
                agent=_clean(r.get("attorney_name")) or attorneys.get(key, ""),
                opposition_pending=_clean(r.get("opposit_pend_in")) in {"1", "T", "TRUE", "Y"},
                events=events.get(key, []),
            )
            _run_cases(unit, out, [(case, f"case_file.csv line {line}", "", "")], stats)
        tick(0)


# --------------------------------------------------------------------------- public entry point


def import_uspto(sources: list[str | Path] | str | Path, out: str | Path, progress: bool = False) -> dict:
    """Convert USPTO trademark data into a tmscreen dataset folder.

    Parameters
    ----------
    sources : list of paths
        Files (XML, ``.xml.gz``, ``.zip``), folders, or Trademark Case Files dataset folders.
        Each source's kind is detected from its content (XML root element / ``case_file.csv``).
    out : path
        Dataset folder to create. Written atomically: a temporary folder beside it is renamed
        into place at the end. An existing folder is replaced only if it is an earlier import
        (holds ``import_report.json``) or is empty.
    progress : bool
        Show a ``rich`` progress bar (only when stderr is a terminal).

    Returns
    -------
    dict
        The import report (also written to ``OUT/import_report.json``): rows per table,
        rejected records per table and reason, sources read with their detected kind, files
        skipped, warnings.

    Raises
    ------
    UsptoImportError
        A source is missing, unreadable or not a USPTO format (the message names the file and
        what was expected), or ``out`` exists and is not an earlier import.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    if not sources:
        raise UsptoImportError(f"no sources given; expected {EXPECTED_KINDS}")
    out = Path(out)
    started = time.time()

    skipped: list[dict] = []
    units: list[_Unit] = []
    for s in sources:
        units += _expand(s, skipped)
    for u in units:
        if u.explicit or u.kind:
            u.kind = _detect(u)
        else:  # found while walking a folder/zip: not-USPTO XML is skipped, not fatal
            try:
                u.kind = _detect(u)
            except UsptoImportError as exc:
                skipped.append({"path": u.label, "reason": str(exc).split(": ", 1)[-1]})
    units = [u for u in units if u.kind]

    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / "import_report.json").exists())):
        raise UsptoImportError(f"{out}: exists and is not an earlier import (no import_report.json); "
                               "refusing to overwrite it — choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the dataset should not be
        output = _Output(tmp)
        sources_report = []
        with _progress(progress) as bar:
            for unit in units:
                stats = {"path": unit.label, "kind": unit.kind, "records": 0, "rejected": 0}
                task = bar.add_task(Path(unit.label).name, total=unit.size) if bar else None

                def tick(done: int, _task: Any = task) -> None:
                    if bar is not None and _task is not None and done:
                        bar.update(_task, completed=done)

                if unit.kind == "casefiles":
                    _run_casefiles(unit, output, stats, tick)
                elif unit.kind == "assignments_xml":
                    _run_assignments(unit, output, stats, tick)
                else:
                    _run_cases(unit, output, _xml_cases(unit, unit.kind, tick), stats)
                if bar is not None and task is not None:
                    bar.update(task, completed=unit.size)
                sources_report.append(stats)
        counts = output.finish()
        report = {
            "importer": "uspto",
            "out": str(out),
            "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
            "seconds": round(time.time() - started, 3),
            "tables": {k: counts[k] for k in ("applications", "transfers", "decisions")},
            "duplicates_dropped": counts["duplicates_dropped"],
            "rejected": {t: dict(c) for t, c in sorted(output.rejected.items())},
            "rejected_total": sum(sum(c.values()) for c in output.rejected.values()),
            "sources": sources_report,
            "skipped": skipped,
            "warnings": dict(output.warnings),
        }
        with open(tmp / "import_report.json", "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _swap_into_place(tmp: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".{out.name}.replaced-{os.getpid()}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


class _NoBar:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not (enabled and sys.stderr.isatty()):
        return _NoBar()
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)
