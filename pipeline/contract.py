"""The data contract: read a dataset folder, validate every table, quarantine bad rows.

A dataset is a folder of tables, each ``NAME.csv`` (UTF-8, UTF-8 with BOM, or GB18030/GBK) or
``NAME.parquet``. docs/data-contract.md is the user-facing description; this module is the
implementation and the two must agree.

Two kinds of problems:
* file-level (a required table or column missing, an unreadable / binary / empty file): raise
  :class:`ContractError` — the CLI exits with code 2 and writes nothing;
* row-level (bad date, class outside 1-45, duplicate id, …): the row goes to the ``rejected``
  table of its file with a ``reason`` column, and the run continues. Rows read = accepted + rejected.

Row checks are pandera schemas over the raw text (validated lazily, so every problem of every row is
reported at once); parsing into typed columns happens only after a row has passed.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.errors import UserError
from core.reasons import DECISION_KINDS
from core.tables import CLASS_SEPARATORS, Tables, contiguous, isin, split_tokens

STATUSES = ("pending", "registered", "refused", "opposed", "invalidated", "withdrawn", "lapsed")
APPLICANT_TYPES = ("company", "individual", "other")
TERM_CATEGORIES = ("place", "person", "event", "generic", "other")
MAX_MARK_CHARS = 300  # a longer "mark" is a pasted paragraph, not a trademark


class ContractError(UserError):
    """A file-level problem: the dataset cannot be used. The CLI maps it to exit code 2."""


@dataclass(frozen=True)
class TableSpec:
    name: str  # relative path without extension, e.g. "reference/protected_marks"
    columns: tuple[str, ...]  # every contract column, in output order
    required: tuple[str, ...]  # must be present in the file header
    required_table: bool = False


SPECS = {
    "applications": TableSpec(
        "applications",
        ("application_id", "filing_date", "mark_text", "nice_classes", "goods_services", "applicant_name",
         "applicant_address", "applicant_country", "applicant_type", "agent_name", "status",
         "registration_date"),
        ("application_id", "filing_date", "nice_classes", "applicant_name"),
        required_table=True,
    ),
    "transfers": TableSpec(
        "transfers",
        ("application_id", "transfer_date", "assignor_name", "assignee_name", "assignee_address"),
        ("application_id", "transfer_date", "assignee_name"),
    ),
    "decisions": TableSpec(
        "decisions",
        ("subject_name", "decision_date", "kind", "authority", "reference", "application_id"),
        ("subject_name", "decision_date", "kind"),
    ),
    "protected_marks": TableSpec(
        "reference/protected_marks", ("mark_text", "owner_name", "nice_classes"), ("mark_text", "owner_name")
    ),
    "public_terms": TableSpec("reference/public_terms", ("term", "category", "date", "owner"), ("term", "category")),
}

_DATE_RE = r"\d{4}-\d{2}-\d{2}"
# The earliest date accepted: older than any trademark register, inside the range of the nanosecond
# timestamps the scoring computes with (1677-09-22 .. 2262-04-11).
EARLIEST_DATE = "1800-01-01"
_CLASS_SPLIT = CLASS_SEPARATORS


# --------------------------------------------------------------------------- reading files
_BOM = b"\xef\xbb\xbf"
_UTF8_CHECK_PIECE = 1 << 24


def _check_utf8(raw: bytes) -> None:
    """Raise UnicodeDecodeError unless ``raw`` is UTF-8. Decoded piece by piece and thrown away:
    decoding a 2.8 GB table at once built a Python str of several GB (UCS-2/4) just to check it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    for lo in range(0, len(raw), _UTF8_CHECK_PIECE):
        decoder.decode(view[lo:lo + _UTF8_CHECK_PIECE])
    decoder.decode(b"", final=True)


def _as_utf8(raw: bytes, path: Path, forced: str | None) -> tuple[bytes, str]:
    """(the table as UTF-8 bytes without a BOM, its encoding): the forced encoding, else UTF-8 (with
    or without BOM), else GB18030. UTF-8 input is passed through as it is (pyarrow reads UTF-8)."""
    if not forced and b"\x00" in raw[:65536]:
        raise ContractError(
            f"{path}: this is a binary file, not a CSV text table (it contains NUL bytes). "
            "Export the table as CSV (UTF-8 or GB18030) or Parquet."
        )
    for enc in [forced] if forced else ["utf-8-sig", "gb18030"]:
        try:
            if codecs.lookup(enc).name in ("utf-8", "utf-8-sig"):
                body = raw.removeprefix(_BOM)
                _check_utf8(body)
                return body, enc
            return raw.decode(enc).lstrip("\ufeff").encode("utf-8"), enc
        except LookupError as exc:
            raise ContractError(f"{path}: cannot decode with --encoding {forced}: {exc}") from None
        except UnicodeDecodeError as exc:
            if forced:
                raise ContractError(f"{path}: cannot decode with --encoding {forced}: {exc}") from None
    raise ContractError(
        f"{path}: the text is neither UTF-8 nor GB18030/GBK. Re-save it as UTF-8, or name the "
        "encoding with --encoding."
    )


_CSV_BLOCK_BYTES = 1 << 24  # the reader's unit of work (and of chunks; see tables.contiguous)


def _read_csv(path: Path, encoding: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every column as text. Returns (rows, malformed lines as a rejected frame)."""
    return parse_csv(path.read_bytes(), path, encoding)


def parse_csv(raw: bytes, path: Path | str, encoding: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``_read_csv`` of bytes already read (``path`` names them in messages: a file or stdin)."""
    if not raw or raw.isspace():  # (not raw.strip(): that copies the whole file)
        raise ContractError(f"{path}: the file is empty. Expected a header line and rows (or delete the file).")
    raw, _ = _as_utf8(raw, path, encoding)
    end = raw.find(b"\n")
    header_line = raw[: end if end >= 0 else len(raw)].decode("utf-8").rstrip("\r")
    if any(ord(c) < 32 and c not in "\t" for c in header_line) or "\ufffd" in header_line:
        raise ContractError(f"{path}: the first line is not a CSV header (control characters found).")
    bad_lines: list[dict] = []

    def on_invalid(row) -> str:
        bad_lines.append({"line": row.number, "text": row.text or "", "raw": (row.text or "")[:500],
                          "reason": f"malformed CSV line: expected {row.expected_columns} fields, "
                                    f"found {row.actual_columns}"})
        return "skip"

    names = list(pd.read_csv(io.StringIO(header_line + "\n"), dtype=str, nrows=0).columns)
    if not names:
        raise ContractError(f"{path}: no header line found.")
    try:
        # straight into ``contiguous``: no other reference keeps the reader's chunks alive while
        # each column is joined (at 10M applications the load peak grew 2.6 GB with one)
        frame = contiguous(pacsv.read_csv(
            pa_arrow.BufferReader(raw),  # no copy of the bytes
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa_arrow.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )).to_pandas()
    except (pa_arrow.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: not a readable CSV table: {exc}") from None
    _number_lines(bad_lines, raw)
    rejected = pd.DataFrame(bad_lines, columns=["line", "raw", "reason"])
    return frame, rejected


def _number_lines(bad_lines: list[dict], raw: bytes) -> None:
    """Give each malformed line its line number in the file where the reader could not (it cannot
    while quoted values may hold newlines): the line where its text starts, searched in order."""
    start, line = 0, 1  # searched from ``start``, which is on line ``line``
    for bad in bad_lines:
        text = bad.pop("text").encode("utf-8")
        if bad["line"] is not None and bad["line"] >= 0:
            continue
        at = raw.find(text, start) if text else -1
        if at >= 0:
            line += raw.count(b"\n", start, at)
            bad["line"] = line
            start = at


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = contiguous(pq.read_table(path))
        # dates become YYYY-MM-DD texts in Arrow, so a date outside pandas' nanosecond range
        # (0001-01-01) reaches the row checks and is quarantined instead of failing the conversion
        for i, field in enumerate(table.schema):
            if pa_arrow.types.is_timestamp(field.type) or pa_arrow.types.is_date(field.type):
                table = table.set_column(i, field.name, pc.strftime(table.column(i), format="%Y-%m-%d"))
        frame = table.to_pandas()
    except Exception as exc:  # pyarrow raises several kinds for a broken file
        raise ContractError(f"{path}: not a readable Parquet file: {exc}") from None
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            s = s.map(lambda v: ";".join(str(int(x)) for x in v) if isinstance(v, (list, tuple, np.ndarray)) else v)
        out[col] = s.astype("str").where(s.notna(), "")
    return out


def _find_file(root: Path, spec: TableSpec) -> Path | None:
    found = [p for p in (root / f"{spec.name}.csv", root / f"{spec.name}.parquet") if p.exists()]
    for p in found:
        if not p.is_file():  # a FIFO or a device (/dev/zero) would hang or fill the memory
            raise ContractError(f"{p}: not a regular file (a folder, pipe or device). Copy the table into a "
                                "regular file.")
    if len(found) > 1:
        raise ContractError(
            f"{root}: both {found[0].name} and {found[1].name} exist for table '{spec.name}'. Keep one."
        )
    return found[0] if found else None


# --------------------------------------------------------------------------- row checks
def _parse_dates(s: pd.Series) -> pd.Series:
    """YYYY-MM-DD texts (trimmed) as timestamps; NaT for anything else, including dates before
    EARLIEST_DATE (they would not fit the nanosecond timestamps every later step computes with)."""
    t = s.str.strip()
    ok = t.str.fullmatch(_DATE_RE) & (t >= EARLIEST_DATE)
    return pd.to_datetime(t.where(ok, None), format="%Y-%m-%d", errors="coerce")


def _date_ok(s: pd.Series) -> pd.Series:
    return _parse_dates(s).notna()


def _not_future(as_of: pd.Timestamp):
    def check(s: pd.Series) -> pd.Series:
        parsed = _parse_dates(s)
        return parsed.isna() | (parsed <= as_of)

    return check


def _classes_ok(s: pd.Series, allow_empty: bool) -> pd.Series:
    pos, tokens = split_tokens(s)
    tok_ok = (tokens.str.fullmatch(r"\d{1,2}") & pd.to_numeric(tokens, errors="coerce").between(1, 45)).to_numpy()
    ok = pd.Series(tok_ok).groupby(pos).all().reindex(np.arange(len(s)), fill_value=False)
    ok.index = s.index
    if allow_empty:
        ok |= s.str.strip() == ""
    return ok


def _in_set(values: tuple[str, ...], allow_empty: bool = True):
    def check(s: pd.Series) -> pd.Series:
        low = s.str.strip().str.lower()
        return low.isin(values) | ((low == "") if allow_empty else False)

    return check


def _nonempty(s: pd.Series) -> pd.Series:
    return s.str.strip() != ""


def _schema(table: str, as_of: pd.Timestamp) -> pa.DataFrameSchema:
    C, K = pa.Column, pa.Check
    date = K(lambda s: _date_ok(s), element_wise=False,
             error=f"date is not a valid YYYY-MM-DD date from {EARLIEST_DATE}")
    opt_date = K(lambda s: (s.str.strip() == "") | _date_ok(s),
                 error=f"date is not a valid YYYY-MM-DD date from {EARLIEST_DATE}")
    future = K(_not_future(as_of), error=f"date is after the as-of date {as_of.date()}")
    nonempty = K(_nonempty, error="value is empty")
    schemas = {
        "applications": {
            "application_id": C(str, [nonempty], unique=True, report_duplicates="exclude_first"),
            "filing_date": C(str, [date, future]),
            "nice_classes": C(str, K(lambda s: _classes_ok(s, False),
                                     error="nice_classes must be classes 1-45 joined by ';'")),
            "applicant_name": C(str, nonempty),
            "mark_text": C(str, K(lambda s: s.str.len() <= MAX_MARK_CHARS,
                                  error=f"mark_text longer than {MAX_MARK_CHARS} characters"), required=False),
            "status": C(str, K(_in_set(STATUSES), error=f"unknown status; allowed: {', '.join(STATUSES)}"),
                        required=False),
            "applicant_type": C(str, K(_in_set(APPLICANT_TYPES),
                                       error=f"unknown applicant_type; allowed: {', '.join(APPLICANT_TYPES)}"),
                                required=False),
            "applicant_country": C(str, K(lambda s: s.str.strip().str.fullmatch(r"([A-Za-z]{2})?"),
                                          error="applicant_country must be an ISO-3166 alpha-2 code"),
                                   required=False),
            "registration_date": C(str, [opt_date], required=False),
        },
        "transfers": {
            "application_id": C(str, nonempty),
            "transfer_date": C(str, [date, future]),
            "assignee_name": C(str, nonempty),
        },
        "decisions": {
            "subject_name": C(str, nonempty),
            "decision_date": C(str, [date, future]),
            "kind": C(str, K(_in_set(DECISION_KINDS, allow_empty=False),
                             error=f"unknown decision kind; allowed: {', '.join(DECISION_KINDS)}")),
        },
        "protected_marks": {
            "mark_text": C(str, nonempty),
            "owner_name": C(str, nonempty),
            "nice_classes": C(str, K(lambda s: _classes_ok(s, True),
                                     error="nice_classes must be classes 1-45 joined by ';' (or empty = all)"),
                              required=False),
        },
        "public_terms": {
            "term": C(str, nonempty),
            "category": C(str, K(_in_set(TERM_CATEGORIES, allow_empty=False),
                                 error=f"unknown category; allowed: {', '.join(TERM_CATEGORIES)}")),
            "date": C(str, opt_date, required=False),
        },
    }
    return pa.DataFrameSchema(schemas[table], strict=False, coerce=False)


def _row_problems(frame: pd.DataFrame, table: str, as_of: pd.Timestamp) -> pd.Series:
    """Reason text per failing row index (all problems of a row joined by '; ')."""
    try:
        _schema(table, as_of).validate(frame, lazy=True)
        fc = pd.DataFrame(columns=["index", "column", "check", "failure_case"])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = pd.concat([fc[fc["index"].notna()], _nul_cases(frame)], ignore_index=True)
    if fc.empty:
        return pd.Series(dtype="str")
    names = {"field_uniqueness": "duplicate application_id (first occurrence kept)"}
    fc["msg"] = fc["column"].astype(str) + ": " + fc["check"].astype(str).map(lambda c: names.get(c, c))
    fc["msg"] = fc["msg"] + " (found '" + fc["failure_case"].astype(str).str.slice(0, 60) + "')"
    return fc.groupby(fc["index"].astype("int64"))["msg"].agg(lambda m: "; ".join(dict.fromkeys(m)))


def _nul_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """Failure cases of values holding a NUL character (binary data inside a text table)."""
    cases = []
    for col in frame.columns:
        hit = frame[col].str.contains("\x00", regex=False).to_numpy(dtype=bool)
        if hit.any():
            cases.append(pd.DataFrame({"index": frame.index[hit], "column": col,
                                       "check": "value holds a NUL character (binary data?)",
                                       "failure_case": frame[col].to_numpy()[hit]}))
    return pd.concat(cases) if cases else pd.DataFrame(columns=["index", "column", "check", "failure_case"])


# --------------------------------------------------------------------------- typed tables
def _canon_classes(s: pd.Series) -> pd.Series:
    """Classes as sorted unique numbers joined by ';'. Rows already canonical (the usual case) are
    recognised vectorised; only the others are rebuilt one by one."""
    pos, tokens = split_tokens(s)
    parts = pd.Series(tokens.astype("int64").to_numpy(), index=s.index[pos])
    prev = parts.groupby(level=0).shift()
    increasing = (prev.isna() | (parts > prev)).groupby(level=0).all().reindex(s.index, fill_value=True)
    canonical = pd.Series(np.zeros(len(s), dtype=bool), index=s.index)
    canonical[increasing.to_numpy()] = True
    out = (s.str.strip().str.replace(_CLASS_SPLIT, ";", regex=True).str.replace(r"(^|;)0+(\d)", r"\1\2", regex=True)
           .str.strip(";"))
    if (~canonical).any():
        fix = parts[parts.index.isin(s.index[~canonical])]
        out.loc[~canonical] = fix.groupby(level=0).agg(lambda v: ";".join(str(c) for c in sorted(set(v))))
    return out.astype("str")


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col.endswith("_date") or col == "date":
            out[col] = _parse_dates(out[col]).astype("datetime64[ns]")  # (rows with a bad date were rejected)
    for col in ("status", "applicant_type", "kind", "category"):
        if col in out.columns:
            out[col] = out[col].str.strip().str.lower()
    if "applicant_country" in out.columns:
        out["applicant_country"] = out["applicant_country"].str.strip().str.upper()
    if "nice_classes" in out.columns:
        out["nice_classes"] = _canon_classes(out["nice_classes"])
    for col in ("application_id", "applicant_name", "subject_name", "assignee_name", "owner_name", "term"):
        if col in out.columns:
            out[col] = out[col].str.strip()
    return out


@dataclass
class LoadedDataset:
    tables: Tables
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return sum(c["rejected"] for c in self.counts.values())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _empty(spec: TableSpec) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in spec.columns})


def newest_date(frames: dict[str, pd.DataFrame], today: pd.Timestamp) -> pd.Timestamp:
    """The as-of date of a dataset given without one: its newest filing or decision date (a
    register is judged as of the day its records end, so an extract of past years keeps its
    recent decisions recent), never after ``today``."""
    dates = [frames[t][c].max() for t, c in (("applications", "filing_date"), ("decisions", "decision_date"))
             if len(frames[t]) and c in frames[t]]
    dates = [d for d in dates if pd.notna(d)]
    return min(max(dates), today).normalize() if dates else today


def check_table(raw: pd.DataFrame, malformed: pd.DataFrame, key: str, as_of: pd.Timestamp,
                path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate one table read as text: (typed good rows, rejected rows with ``row`` and ``reason``).
    A missing required column or a required table without rows is a ContractError."""
    spec = SPECS[key]
    raw.columns = [str(c).strip().lstrip("\ufeff").lower() for c in raw.columns]
    missing = [c for c in spec.required if c not in raw.columns]
    if missing:
        raise ContractError(
            f"{path}: required column(s) {', '.join(missing)} missing. Found columns: "
            f"{', '.join(raw.columns) or '(none)'}. Expected at least {', '.join(spec.required)}; "
            "rename the columns (see docs/data-contract.md)."
        )
    if spec.required_table and len(raw) == 0 and malformed.empty:
        raise ContractError(f"{path}: the table has a header but no rows; nothing to score.")
    for col in spec.columns:
        if col not in raw.columns:
            raw[col] = ""
    raw = raw.astype({c: "str" for c in raw.columns}).reset_index(drop=True)
    problems = _row_problems(raw, key, as_of)
    bad = raw.index.isin(problems.index)
    rejected = raw.loc[bad].copy()
    # "row" is the 1-based record number with the header as row 1 (as a spreadsheet shows it);
    # it equals the file line unless quoted fields contain newlines. Malformed lines were left out of
    # ``raw``: the rows after one are numbered past it.
    record = np.setdiff1d(np.arange(2, len(raw) + len(malformed) + 2),
                          malformed["line"].to_numpy(np.int64) if len(malformed) else [])[:len(raw)]
    rejected.insert(0, "row", record[rejected.index.to_numpy()])
    rejected["reason"] = problems.reindex(rejected.index).to_numpy()
    if not malformed.empty:
        rejected = pd.concat([rejected, malformed.rename(columns={"line": "row"})], ignore_index=True)
    good = _typed(raw.loc[~bad], key)
    good.index = pd.Index(record[good.index.to_numpy()], name="row")  # the accepted rows' record numbers
    return good, rejected


def load_dataset(root: str | Path, as_of: str | pd.Timestamp | None = None,
                 encoding: str | None = None) -> LoadedDataset:
    """Read and validate a dataset folder. Raises ContractError for file-level problems."""
    root = Path(root)
    if not root.is_dir():
        raise ContractError(f"{root}: dataset folder not found. Pass a folder holding applications.csv/.parquet.")
    given = as_of
    as_of = pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    result = LoadedDataset(tables=None)  # type: ignore[arg-type]
    frames: dict[str, pd.DataFrame] = {}
    for key, spec in SPECS.items():
        path = _find_file(root, spec)
        if path is None:
            if spec.required_table:
                raise ContractError(
                    f"{root}: required table '{spec.name}' is missing. Expected {spec.name}.csv or "
                    f"{spec.name}.parquet with at least the columns {', '.join(spec.required)}."
                )
            frames[key] = _typed(_empty(spec), key)
            continue
        if path.suffix == ".csv":
            raw, malformed = _read_csv(path, encoding)
        else:
            raw, malformed = _read_parquet(path), pd.DataFrame(columns=["line", "raw", "reason"])
        good, rejected = check_table(raw, malformed, key, as_of, path)
        frames[key] = good
        result.rejected[key] = rejected.reset_index(drop=True)
        result.counts[key] = {"read": int(len(raw) + len(malformed)), "accepted": int(len(good)),
                              "rejected": int(len(rejected))}
        result.inputs.append({"table": spec.name, "path": str(path), "sha256": _sha256(path)})

    # Cross-table rule: a transfer must point at an accepted application.
    tr = frames["transfers"]
    if len(tr):
        unknown = pd.Series(~isin(tr["application_id"], frames["applications"]["application_id"]), index=tr.index)
        if unknown.any():
            rej = tr.loc[unknown].astype("str").copy()
            rej.insert(0, "row", tr.index[unknown])  # (check_table numbered the rows by record)
            rej["reason"] = "application_id: transfer points at an unknown (or rejected) application"
            result.rejected["transfers"] = pd.concat([result.rejected["transfers"], rej], ignore_index=True)
            frames["transfers"] = tr.loc[~unknown].reset_index(drop=True)
            result.counts["transfers"]["accepted"] -= int(unknown.sum())
            result.counts["transfers"]["rejected"] += int(unknown.sum())
    frames = {k: v.reset_index(drop=True) for k, v in frames.items()}
    if not given:
        as_of = newest_date(frames, as_of)
    result.tables = Tables(
        applications=frames["applications"], transfers=frames["transfers"], decisions=frames["decisions"],
        protected_marks=frames["protected_marks"], public_terms=frames["public_terms"], as_of=as_of,
    )
    return result
