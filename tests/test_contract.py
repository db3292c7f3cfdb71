"""Bad-input policy of the data contract: refuse unusable files clearly, quarantine bad rows."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.contract import ContractError, load_dataset
from pipeline.runio import neutralise_formulas

HEADER = "application_id,filing_date,mark_text,nice_classes,applicant_name,applicant_address,status\n"
GOOD = [
    "A1,2020-01-02,星巴客,43,深圳市甲科技有限公司,深圳市南山区科技园路1号,pending",
    "A2,2020-02-03,SUNRISE,9;35,Acme Inc.,1 Main St,registered",
]


def write(tmp_path, rows, name="applications.csv", header=HEADER, encoding="utf-8"):
    ds = tmp_path / "ds"
    ds.mkdir(exist_ok=True)
    (ds / name).write_bytes((header + "\n".join(rows) + "\n").encode(encoding))
    return ds


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_required_column_is_refused_with_names(tmp_path, capsys):
    ds = write(tmp_path, ["A1,2020-01-02,x,9,someone"], header="application_id,filing_date,mark_text,classes,applicant_name\n")
    code, out, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2
    assert "applications.csv" in err and "nice_classes" in err and "Found columns" in err


def test_missing_applications_table(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    code, _, err = run_cli(["score", str(tmp_path / "ds"), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "required table 'applications' is missing" in err
    assert not (tmp_path / "run").exists()


def test_empty_file_and_header_only(tmp_path, capsys):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "applications.csv").write_bytes(b"")
    code, _, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2 and "empty" in err
    (ds / "applications.csv").write_text(HEADER)
    code, _, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2 and "header but no rows" in err


def test_random_binary_named_csv(tmp_path, capsys):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "applications.csv").write_bytes(os.urandom(4096) + b"\x00\x01")
    code, _, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2 and "binary" in err
    assert "Traceback" not in err


def test_gb18030_file_is_read(tmp_path):
    ds = write(tmp_path, GOOD, encoding="gb18030")
    loaded = load_dataset(ds, as_of="2025-01-01")
    apps = loaded.tables.applications
    assert apps.loc[apps["application_id"] == "A1", "mark_text"].item() == "星巴客"
    assert apps.loc[apps["application_id"] == "A1", "applicant_name"].item() == "深圳市甲科技有限公司"


def test_utf8_check_reads_characters_split_between_pieces(tmp_path, monkeypatch):
    """The UTF-8 check decodes the file in pieces: a character cut by a piece boundary is still
    UTF-8, a stray byte at the end is not."""
    import pipeline.contract as contract

    monkeypatch.setattr(contract, "_UTF8_CHECK_PIECE", 5)  # every 3-byte Han character gets cut
    ds = write(tmp_path, GOOD)
    apps = load_dataset(ds, as_of="2025-01-01").tables.applications
    assert apps.loc[apps["application_id"] == "A1", "mark_text"].item() == "星巴客"
    raw = (ds / "applications.csv").read_bytes()
    assert contract._as_utf8(raw, ds, None) == (raw, "utf-8-sig")
    gbk = "星巴客".encode("gb18030") * 3
    assert contract._as_utf8(gbk, ds, None) == ("星巴客".encode() * 3, "gb18030")
    broken = raw + "星".encode("gb18030")  # UTF-8 with a GB18030 character: neither
    with pytest.raises(contract.ContractError, match="neither UTF-8 nor GB18030"):
        contract._as_utf8(broken, ds, None)
    with pytest.raises(contract.ContractError, match="cannot decode with --encoding utf-8"):
        contract._as_utf8(broken, ds, "utf-8")


def test_loaded_text_columns_are_one_chunk_each(tmp_path, monkeypatch):
    """The CSV reader returns a chunk per block; loading joins each column into one chunk with the
    same values (Arrow's take of a chunked column copies all of it: quadratic in a chunked builder)."""
    import pyarrow as pa

    import pipeline.contract as contract
    from core.tables import contiguous

    rows = [f"A{i},2020-01-{1 + i % 28:02d},MARK{i},{1 + i % 45},公司{i},地址{i},pending" for i in range(300)]
    ds = write(tmp_path, rows)
    monkeypatch.setattr(contract, "_CSV_BLOCK_BYTES", 1 << 10)  # ~20 blocks
    apps = load_dataset(ds, as_of="2025-01-01").tables.applications
    for col in ("application_id", "mark_text", "applicant_name", "applicant_address"):
        assert apps[col].array._pa_array.num_chunks == 1, col
    assert apps["mark_text"].tolist() == [f"MARK{i}" for i in range(300)]
    assert apps["applicant_name"].tolist() == [f"公司{i}" for i in range(300)]
    # the helper itself: chunks joined, strings widened to large_string, other types untouched
    t = pa.table({"s": pa.chunked_array([["a", "b"], ["c"]]), "n": pa.chunked_array([[1], [2, 3]])})
    c = contiguous(t)
    assert [c.column(i).num_chunks for i in range(2)] == [1, 1]
    assert c.column("s").type == pa.large_string() and c.column("n").type == pa.int64()
    assert c.column("s").to_pylist() == ["a", "b", "c"] and c.column("n").to_pylist() == [1, 2, 3]


def test_utf8_bom_is_read(tmp_path):
    ds = write(tmp_path, GOOD, encoding="utf-8-sig")
    loaded = load_dataset(ds, as_of="2025-01-01")
    assert list(loaded.tables.applications["application_id"]) == ["A1", "A2"]


def test_bad_rows_are_quarantined_with_reasons(tmp_path):
    big = "x" * 100_000
    rows = GOOD + [
        "B1,2020-13-45,m,9,someone,,pending",          # impossible date
        "B2,2031-01-01,m,9,someone,,pending",          # future relative to as-of
        "B3,2020-01-01,m,0,someone,,pending",          # class 0
        "B4,2020-01-01,m,46,someone,,pending",         # class 46
        "B5,2020-01-01,m,9;abc,someone,,pending",      # class not a number
        "A1,2020-01-01,dup,9,someone,,pending",        # duplicate id
        "B6,2020-01-01,m,9,someone,,unknown_status",   # unknown status
        f"B7,2020-01-01,{big},9,someone,,pending",     # 100 KB mark text
        'B8,2020-01-01,"say ""hi"",\nthere",9,"multi\nline name",,pending',  # quotes + newline: valid
        "B9,2020-01-01,=1+1,9,someone,,pending",       # formula-like mark: valid, neutralised on export
        "B10,2020-01-01,m,9,   ,,pending",             # empty applicant
    ]
    ds = write(tmp_path, rows)
    (ds / "transfers.csv").write_text("application_id,transfer_date,assignee_name\nA2,2021-01-01,Buyer\nZZZ,2021-01-01,Buyer\n")
    loaded = load_dataset(ds, as_of="2025-01-01")
    rej = loaded.rejected["applications"].set_index("application_id")
    reason = rej["reason"]
    assert "not a valid YYYY-MM-DD" in reason["B1"]
    assert "after the as-of date" in reason["B2"]
    assert "classes 1-45" in reason["B3"] and "classes 1-45" in reason["B4"] and "'9;abc'" in reason["B5"]
    assert "duplicate application_id" in reason["A1"]
    assert "unknown status" in reason["B6"]
    assert "longer than" in reason["B7"]
    assert "value is empty" in reason["B10"]
    apps = loaded.tables.applications.set_index("application_id")
    assert apps.loc["B8", "mark_text"] == 'say "hi",\nthere' and apps.loc["B8", "applicant_name"] == "multi\nline name"
    assert apps.loc["B9", "mark_text"] == "=1+1"
    assert apps.loc["A1", "mark_text"] == "星巴客"  # first occurrence kept
    # rows read = accepted + rejected, per table
    for counts in loaded.counts.values():
        assert counts["read"] == counts["accepted"] + counts["rejected"]
    assert loaded.counts["applications"] == {"read": 13, "accepted": 4, "rejected": 9}
    assert loaded.counts["transfers"] == {"read": 2, "accepted": 1, "rejected": 1}
    assert "unknown" in loaded.rejected["transfers"]["reason"].item()
    # the rejected row number points at the record in the file (header = row 1)
    assert int(rej.loc["B1", "row"]) == 4


def test_malformed_line_is_quarantined_not_dropped(tmp_path):
    ds = write(tmp_path, GOOD + ["C1,2020-01-01,m,9,someone,,pending,EXTRA"])
    loaded = load_dataset(ds, as_of="2025-01-01")
    assert loaded.counts["applications"] == {"read": 3, "accepted": 2, "rejected": 1}
    assert "expected 7 fields, found 8" in loaded.rejected["applications"]["reason"].item()


def test_validate_exit_codes(tmp_path, capsys):
    ds = write(tmp_path, GOOD)
    assert run_cli(["validate", str(ds), "--as-of", "2025-01-01"], capsys)[0] == 0
    ds = write(tmp_path, GOOD + ["B3,2020-01-01,m,0,someone,,pending"])
    code, out, _ = run_cli(["validate", str(ds), "--as-of", "2025-01-01"], capsys)
    assert code == 1 and "classes 1-45" in out


def test_parquet_with_list_classes(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    pd.DataFrame({
        "application_id": ["P1", "P2"], "filing_date": ["2020-01-01", "2020-02-01"],
        "nice_classes": [[9, 35], [46]], "applicant_name": ["甲", "乙"],
    }).to_parquet(ds / "applications.parquet")
    loaded = load_dataset(ds, as_of="2025-01-01")
    assert loaded.tables.applications["nice_classes"].tolist() == ["9;35"]
    assert loaded.counts["applications"]["rejected"] == 1


def test_both_csv_and_parquet_is_ambiguous(tmp_path):
    ds = write(tmp_path, GOOD)
    pd.DataFrame({"application_id": ["x"]}).to_parquet(ds / "applications.parquet")
    with pytest.raises(ContractError, match="Keep one"):
        load_dataset(ds)


def test_formula_cells_are_neutralised():
    frame = pd.DataFrame({"a": ["=1+1", "+SUM(A1)", "-2", "@cmd", "plain", "星巴克"], "n": [1, 2, 3, 4, 5, 6]})
    out = neutralise_formulas(frame)
    assert out["a"].tolist() == ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "plain", "星巴克"]
    assert out["n"].tolist() == [1, 2, 3, 4, 5, 6]


def test_score_end_to_end_on_tiny_dataset_neutralises_csv(tmp_path, capsys):
    rows = GOOD + ["A3,2020-03-01,x,9,=HYPERLINK(\"http://evil\"),,pending", "BAD,2020-01-01,m,0,x,,pending"]
    ds = write(tmp_path, rows)
    run = tmp_path / "run"
    code, out, err = run_cli(["score", str(ds), "--out", str(run), "--as-of", "2025-01-01", "--top", "0"], capsys)
    assert code == 0, err
    csv_text = (run / "applicant_scores.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    assert "rejected" in out and (run / "rejected" / "applications.csv").exists()
    import json

    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["rows"]["applications"] == {"read": 4, "accepted": 3, "rejected": 1}
    assert {s["stage"] for s in manifest["stages"]} >= {"load", "entities", "features.hoarding", "grading", "write"}
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])


def test_sorted_unique_equals_numpy_unique():
    from core.tables import sorted_unique

    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 50, 1000), rng.integers(-2**62, 2**62, 5000), np.array([7, 7, 7]),
                   np.array([], dtype=np.int64), np.array([5])):
        got = sorted_unique(values)
        np.testing.assert_array_equal(got, np.unique(values))
        assert got.dtype == values.dtype


def test_dates_outside_the_supported_range_are_quarantined(tmp_path, capsys):
    rows = GOOD + ["D1,0001-01-01,m,9,someone,,pending", "D2,1677-09-21,m,9,someone,,pending",
                   "D3, 2020-05-06 ,m,9,someone,,pending"]
    ds = write(tmp_path, rows)
    loaded = load_dataset(ds, as_of="2025-01-01")
    rej = loaded.rejected["applications"].set_index("application_id")
    assert sorted(rej.index) == ["D1", "D2"]
    assert "from 1800-01-01" in rej.loc["D1", "reason"] and "0001-01-01" in rej.loc["D1", "reason"]
    apps = loaded.tables.applications.set_index("application_id")
    assert apps.loc["D3", "filing_date"] == pd.Timestamp("2020-05-06")  # values are trimmed
    run = tmp_path / "run"
    code, _, err = run_cli(["score", str(ds), "--out", str(run), "--as-of", "2025-01-01", "--top", "0"], capsys)
    assert code == 0, err
    assert pd.read_csv(run / "rejected" / "applications.csv")["application_id"].tolist() == ["D1", "D2"]


def test_parquet_date_before_pandas_range_is_quarantined(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = tmp_path / "ds"
    ds.mkdir()
    pq.write_table(pa.table({"application_id": ["P1", "P2"], "filing_date": [datetime.date(2020, 1, 1),
                                                                             datetime.date(1, 1, 1)],
                             "nice_classes": ["9", "9"], "applicant_name": ["甲", "乙"]}), ds / "applications.parquet")
    loaded = load_dataset(ds, as_of="2025-01-01")
    assert loaded.tables.applications["application_id"].tolist() == ["P1"]
    assert "0001-01-01" in loaded.rejected["applications"]["reason"].item()


def test_malformed_lines_carry_their_line_number(tmp_path):
    ds = write(tmp_path, GOOD + ["C1,2020-01-01,m,9,someone,,pending,EXTRA", "A4,2020-01-01,m,9,x,,pending",
                                 "C2,2020"])
    rej = load_dataset(ds, as_of="2025-01-01").rejected["applications"]
    assert rej["row"].tolist() == [4, 6]  # header = line 1; C1 is the file's 4th line, C2 its 6th


def test_nul_inside_a_value_is_quarantined(tmp_path):
    filler = [f"F{i},2020-01-01,mark{i},9,filer {i},,pending" for i in range(3000)]  # past the first 64 KB
    ds = write(tmp_path, GOOD + filler + ["N1,2020-01-01,m,9,evil\x00name,,pending"])
    loaded = load_dataset(ds, as_of="2025-01-01")
    assert loaded.rejected["applications"]["application_id"].tolist() == ["N1"]
    assert "NUL" in loaded.rejected["applications"]["reason"].item()
    assert not loaded.tables.applications["applicant_name"].str.contains("\x00").any()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_or_device_as_input_is_refused(tmp_path, capsys):
    ds = tmp_path / "ds"
    ds.mkdir()
    os.mkfifo(ds / "applications.csv")
    code, _, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2 and "not a regular file" in err


def test_unwritable_output_or_unreadable_input_exits_2(tmp_path, capsys, monkeypatch):
    ds = write(tmp_path, GOOD)
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["score", str(ds), "--out", str(tmp_path / "file" / "run"), "--as-of", "2025-01-01",
                            "--top", "0"], capsys)
    assert code == 2 and str(tmp_path / "file") in err and "Traceback" not in err
    from pathlib import Path

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # as root, chmod does not deny; the OS error is simulated
    code, _, err = run_cli(["validate", str(ds)], capsys)
    assert code == 2 and "Permission denied" in err and "applications.csv" in err


def test_list_cells_cannot_start_a_formula_in_csv(tmp_path):
    from pipeline.runio import write_csv

    write_csv(pd.DataFrame({"names": [["=HYPERLINK(\"http://x\")", "甲"], ["乙"]]}), tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


def test_progress_lines_per_stage_only_when_asked(tmp_path, capsys, monkeypatch):
    from core.config import load_config
    from pipeline.score import score_dataset
    from pipeline.stages import terminal_progress

    ds = write(tmp_path, GOOD)
    stream = io.StringIO()
    manifest = score_dataset(ds, tmp_path / "run", load_config(), as_of="2025-01-01", progress=stream)
    lines = stream.getvalue().splitlines()
    done = [ln for ln in lines if " done in " in ln]
    assert [ln.split("] ")[1].split(" done")[0] for ln in done] == [st["stage"] for st in manifest["stages"]]
    assert all(ln.endswith(", 2 applications") for ln in done[1:])  # rows known once loaded
    assert len(lines) == 2 * len(done)  # a start line and a done line per stage
    assert terminal_progress(quiet=True) is None
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert terminal_progress(quiet=False) is None  # not a terminal: silent
    code, _, err = run_cli(["score", str(ds), "--out", str(tmp_path / "run2"), "--as-of", "2025-01-01", "--top", "0"],
                           capsys)
    assert code == 0 and " done in " not in err
