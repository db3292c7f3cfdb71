"""``import uspto`` on real USPTO records (copies under tests/data/uspto, public domain).

Expected values were written by reading the XML files by hand, not by running the importer.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from pipeline.importers import UsptoImportError, import_uspto
from pipeline.importers.uspto import (
    APPLICATION_COLUMNS,
    CONTRACT_APPLICATION_COLUMNS,
    DECISION_COLUMNS,
    TRANSFER_COLUMNS,
    status_table,
)

DATA = Path(__file__).parent / "data" / "uspto"
DAILY = DATA / "uspto-tm-daily-xml-apc260420" / "apc260420_3records.xml"
MARKORBIT = DATA / "uspto-tm-xml-markorbit-fixtures"
TDXF = MARKORBIT / "us_real_tdxf_layout.xml"
ASSIGN_BULK = MARKORBIT / "us_assignment_current_bulk_party_tags.xml"
ASSIGN_HIST = MARKORBIT / "us_assignment_real_historical_shape.xml"
ST66 = DATA / "uspto-tsdr-status-plumage" / "sn76044902_ST66.xml"
ST96 = DATA / "uspto-tsdr-status-plumage" / "rn2178784_ST96.xml"
CASEFILES = DATA / "casefiles-synthetic"

STATUSES = {"pending", "registered", "refused", "opposed", "invalidated", "withdrawn", "lapsed"}


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _by_id(path: Path) -> dict[str, dict]:
    return {r["application_id"]: r for r in _rows(path)}


def _run(tmp_path: Path, *sources: Path, name: str = "ds") -> tuple[dict, Path]:
    out = tmp_path / name
    report = import_uspto([str(s) for s in sources], out)
    return report, out


# --------------------------------------------------------------------------- daily XML (TDXF)


def test_daily_xml_three_real_case_files(tmp_path):
    report, out = _run(tmp_path, DAILY)
    apps = _by_id(out / "applications.csv")
    assert set(apps) == {"79394847", "99772827", "99487890"}
    assert report["tables"] == {"applications": 3, "transfers": 0, "decisions": 0}
    assert report["sources"][0]["kind"] == "applications_xml"

    eyecane = apps["79394847"]
    assert eyecane["mark_text"] == "EYECANE"
    assert eyecane["filing_date"] == "2024-01-23"
    assert eyecane["registration_date"] == "2025-02-04"
    assert eyecane["registration_number"] == "7674361"
    assert eyecane["nice_classes"] == "9;10;42;44"
    assert eyecane["status"] == "registered" and eyecane["uspto_status_code"] == "700"
    assert eyecane["applicant_name"] == "CELLICO Inc."
    assert eyecane["applicant_country"] == "KR"
    assert eyecane["applicant_type"] == "company"  # legal-entity-type-code 03
    assert eyecane["applicant_address"] == (
        "(Siheung-dong, Pangyo Creative Economy Valley), R765, 7F, 815, Daewangpangyo-ro, "
        "Sujeong-gu Seongnam-si, Gyeonggi-do")
    assert eyecane["agent_name"] == "Charles G. Zug"
    assert eyecane["goods_services"].startswith("[ Eyeglasses; vision correction spectacles;")
    assert "Telemedicine services" in eyecane["goods_services"]
    assert "EYE CANE" not in eyecane["goods_services"]  # PM (pseudo mark) statement is not goods

    fnky = apps["99772827"]
    assert fnky["mark_text"] == "FNKYSTRP"
    assert fnky["filing_date"] == "2026-04-19"
    assert fnky["nice_classes"] == "25"
    assert fnky["status"] == "pending"  # 630 new application
    assert fnky["registration_date"] == "" and fnky["registration_number"] == ""  # 0000000
    assert fnky["applicant_name"] == "Fu Jiale"
    assert fnky["applicant_type"] == "individual"  # 01
    assert fnky["applicant_country"] == "CN"
    assert fnky["applicant_address"] == (
        "No. 33, Sunjiatong, Xujiang Town, Guangchang County, Fuzhou,Jiangxi, 344000")
    assert fnky["agent_name"] == "Divya Kannegenti"

    hats = apps["99487890"]
    assert hats["mark_text"] == "THE FATHER OF ALL DAD HATS"
    assert hats["filing_date"] == "2025-11-10"
    assert hats["registration_date"] == "2026-04-14"
    assert hats["nice_classes"] == "25;35"
    assert hats["status"] == "registered"
    assert hats["applicant_name"] == "'47 Brand, LLC"
    assert hats["applicant_type"] == "company"  # 16 LLC
    assert hats["applicant_country"] == "US"
    assert hats["applicant_address"] == "15 S. West Park, Westwood, MA, 02090"
    assert hats["agent_name"] == "Lisa M. Tittemore"
    assert hats["goods_services"] == (
        "Headwear | Retail store services featuring headwear; On-line retail store services featuring headwear")


def test_markorbit_tdxf_chain_of_title_and_correspondent_fallback(tmp_path):
    _, out = _run(tmp_path, TDXF)
    apps = _by_id(out / "applications.csv")
    samson = apps["70011210"]
    assert samson["mark_text"] == "SAMSON"
    assert samson["filing_date"] == "1884-04-07"
    assert samson["registration_date"] == "1884-05-27"
    assert samson["nice_classes"] == "22"
    assert samson["status"] == "registered"  # 800 registered and renewed
    # only party types 43 and 44 are on file: the earliest (43, INC.) is the applicant
    assert samson["applicant_name"] == "SAMSON ROPE TECHNOLOGIES, INC."
    assert samson["current_owner_name"] == "SAMSON ROPE TECHNOLOGIES, LLC"
    assert samson["applicant_address"] == "2090 THORNTON STREET, FERNDALE, WA, 98248"
    assert samson["applicant_country"] == "US"
    assert samson["agent_name"] == "Timothy D. Casey BakerHostetler"  # no attorney-name → correspondent

    pharaone = apps["79001917"]
    assert pharaone["mark_text"] == "PHARAONE"
    assert pharaone["filing_date"] == "2004-03-24"
    assert pharaone["nice_classes"] == "1"
    assert pharaone["status"] == "registered"  # 706 section 71 accepted
    assert pharaone["applicant_name"] == "GIVAUDAN SA"
    assert pharaone["applicant_country"] == "CH"
    assert pharaone["agent_name"] == "Kathryn E. Smith WOOD HERRON & EVANS LLP"


# --------------------------------------------------------------------------- assignments XML


def test_assignment_xml_transfers(tmp_path):
    report, out = _run(tmp_path, ASSIGN_BULK, ASSIGN_HIST)
    assert report["tables"]["applications"] == 0
    assert _rows(out / "applications.csv") == []  # header only, still written
    t = _by_id(out / "transfers.csv")
    assert set(t) == {"71614627", "71600001", "71231446"}

    jensen = t["71614627"]
    assert jensen["assignor_name"] == "JENSEN, PETER A/S"
    assert jensen["assignee_name"] == "MERCHANTS TRADING CO.INC."
    assert jensen["transfer_date"] == "1954-06-16"  # date-acknowledged
    assert jensen["recorded_date"] == "1955-01-05"
    assert jensen["reel_frame"] == "1/0058"
    assert jensen["conveyance"] == "ASSIGNS THE ENTIRE INTEREST AND THE GOODWILL"
    assert jensen["conveyance_kind"] == "assignment"

    handy = t["71600001"]
    assert handy["assignor_name"] == "SALSBURY, H.I."
    assert handy["assignee_name"] == "HANDY ROLL CO."
    assert handy["transfer_date"] == "1955-01-17"
    assert handy["recorded_date"] == "1955-01-20"

    griffin = t["71231446"]
    assert griffin["assignor_name"] == "HAWK AND BUCK COMPANY, INC., THE"
    assert griffin["assignee_name"] == "GRIFFIN, C. C., MANUFACTURING COMPANY"
    assert griffin["assignee_address"] == "FORT WORTH, TEXAS"
    assert griffin["transfer_date"] == "1953-05-13"  # execution-date
    assert griffin["conveyance"] == "CHANGE OF NAME 19530513"
    assert griffin["conveyance_kind"] == "name_change"  # kept, but marked


# --------------------------------------------------------------------------- TSDR status XML


def test_tsdr_st66_python(tmp_path):
    report, out = _run(tmp_path, ST66)
    assert report["sources"][0]["kind"] == "tsdr_st66"
    app = _by_id(out / "applications.csv")["76044902"]
    assert app["mark_text"] == "PYTHON"
    assert app["filing_date"] == "2000-05-09"
    assert app["registration_date"] == "2004-03-23"
    assert app["registration_number"] == "2824281"
    assert app["nice_classes"] == "9;42"
    assert app["status"] == "registered"  # 702 section 8 & 15
    assert app["applicant_name"] == "Corporation for National Research Initiatives"  # party type 10
    assert app["applicant_address"] == "1895 Preston White Drive, Reston, VIRGINIA, 20191"
    assert app["applicant_country"] == "US"
    assert app["applicant_type"] == "company"
    assert app["current_owner_name"] == "PYTHON SOFTWARE FOUNDATION"
    assert app["agent_name"] == "Leanne Stendell"

    (t,) = _rows(out / "transfers.csv")
    assert t["application_id"] == "76044902"
    assert t["assignor_name"] == "CORPORATION FOR NATIONAL RESEARCH INITIATIVES, INC."
    assert t["assignee_name"] == "PYTHON SOFTWARE FOUNDATION"
    assert t["assignee_address"] == "513 PRINCE EDWARD STREET, FREDERISCKBURG, VIRGINIA 22401"
    assert t["transfer_date"] == "2003-08-06"
    assert t["recorded_date"] == "2003-10-21"
    assert t["conveyance"] == "ASSIGNS THE ENTIRE INTEREST"
    assert t["reel_frame"] == "2849/0875"


def test_tsdr_st96_java(tmp_path):
    report, out = _run(tmp_path, ST96)
    assert report["sources"][0]["kind"] == "tsdr_st96"
    app = _by_id(out / "applications.csv")["74631225"]
    assert app["mark_text"] == "JAVA"
    assert app["filing_date"] == "1995-02-07"
    assert app["registration_date"] == "1998-08-04"
    assert app["nice_classes"] == "9"
    assert app["status"] == "registered"  # 800
    assert app["applicant_name"] == "Sun Microsystems, Inc."
    assert app["applicant_address"] == "2550 Garcia Avenue, Mountain View, CALIFORNIA, 94043"
    assert app["applicant_country"] == "US"
    assert app["current_owner_name"] == "Oracle America, Inc."
    assert app["agent_name"] == "Andrew Roppel"

    (t,) = _rows(out / "transfers.csv")
    assert t["assignor_name"] == "SUN MICROSYSTEMS, INC."
    assert t["assignee_name"] == "ORACLE AMERICA, INC."
    assert t["transfer_date"] == "2010-02-15"
    assert t["conveyance"] == "CHANGE OF NAME"
    assert t["conveyance_kind"] == "name_change"
    assert t["reel_frame"] == "4191/0383"


# --------------------------------------------------------------------------- folders, zips, report


def test_folder_and_zip_sources_and_report(tmp_path):
    archive = tmp_path / "apc260420.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(DAILY, "apc260420.xml")
    report, out = _run(tmp_path, archive, DATA / "uspto-tsdr-status-plumage", MARKORBIT)
    assert report["tables"] == {"applications": 7, "transfers": 5, "decisions": 0}
    assert report["rejected_total"] == 0
    kinds = sorted(s["kind"] for s in report["sources"])
    assert kinds == ["applications_xml", "applications_xml", "assignments_xml", "assignments_xml",
                     "tsdr_st66", "tsdr_st96"]
    assert any(s["path"].endswith("PROVENANCE.md") for s in report["skipped"])
    on_disk = json.loads((out / "import_report.json").read_text())
    assert on_disk == report

    with open(out / "applications.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == APPLICATION_COLUMNS
    apps = _rows(out / "applications.csv")
    assert set(CONTRACT_APPLICATION_COLUMNS) <= set(apps[0])
    assert {a["status"] for a in apps} <= STATUSES
    with open(out / "transfers.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == TRANSFER_COLUMNS
    with open(out / "decisions.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == DECISION_COLUMNS
    assert not list(tmp_path.glob(".ds.importing-*"))


def test_duplicate_serial_latest_transaction_wins(tmp_path):
    text = DAILY.read_text(encoding="utf-8")
    newer = text.replace("<transaction-date>20260420</transaction-date>",
                         "<transaction-date>20260421</transaction-date>", 1).replace(
        "<mark-identification>EYECANE</mark-identification>",
        "<mark-identification>EYECANE NEW</mark-identification>")
    (tmp_path / "b_newer.xml").write_text(newer, encoding="utf-8")
    (tmp_path / "a_older.xml").write_text(text, encoding="utf-8")
    report = import_uspto([tmp_path / "b_newer.xml", tmp_path / "a_older.xml"], tmp_path / "ds")
    apps = _by_id(tmp_path / "ds" / "applications.csv")
    assert apps["79394847"]["mark_text"] == "EYECANE NEW"
    assert report["duplicates_dropped"] == 3
    assert report["tables"]["applications"] == 3


# --------------------------------------------------------------------------- malformed input


def test_broken_record_is_quarantined_and_the_rest_imported(tmp_path):
    text = DAILY.read_text(encoding="utf-8")
    # break the 2nd case-file (FNKYSTRP): an unclosed element
    broken = text.replace("<mark-identification>FNKYSTRP</mark-identification>",
                          "<mark-identification>FNKYSTRP")
    assert broken != text
    src = tmp_path / "broken.xml"
    src.write_text(broken, encoding="utf-8")
    report, out = _run(tmp_path, src)
    apps = _by_id(out / "applications.csv")
    assert set(apps) == {"79394847", "99487890"}  # record after the break recovered too
    (rej,) = _rows(out / "rejected" / "applications.csv")
    assert rej["reason"].startswith("broken XML")
    assert rej["application_id"] == "99772827"
    assert rej["source"] == str(src)
    assert report["rejected"] == {"applications": {"broken XML": 1}}


def test_truncated_file_keeps_complete_records(tmp_path):
    text = DAILY.read_text(encoding="utf-8")
    cut = text[: text.index("<mark-identification>THE FATHER")]
    src = tmp_path / "truncated.xml"
    src.write_text(cut, encoding="utf-8")
    _, out = _run(tmp_path, src)
    assert set(_by_id(out / "applications.csv")) == {"79394847", "99772827"}
    (rej,) = _rows(out / "rejected" / "applications.csv")
    assert rej["application_id"] == "99487890" and rej["reason"].startswith("broken XML")


def test_missing_serial_and_bad_date_are_quarantined_with_reasons(tmp_path):
    text = DAILY.read_text(encoding="utf-8")
    bad = (text.replace("<serial-number>99772827</serial-number>", "<serial-number></serial-number>")
               .replace("<filing-date>20251110</filing-date>", "<filing-date>20251345</filing-date>"))
    src = tmp_path / "bad.xml"
    src.write_text(bad, encoding="utf-8")
    report, out = _run(tmp_path, src)
    assert set(_by_id(out / "applications.csv")) == {"79394847"}
    rejected = {r["reason"]: r for r in _rows(out / "rejected" / "applications.csv")}
    assert set(rejected) == {"missing serial number", "unparsable filing date: '20251345'"}
    assert rejected["unparsable filing date: '20251345'"]["application_id"] == "99487890"
    assert report["rejected_total"] == 2


def test_non_xml_file_is_refused_with_a_clear_message(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("serial,mark\n1,FOO\n", encoding="utf-8")
    with pytest.raises(UsptoImportError, match=r"notes\.txt: not readable as XML.*expected USPTO"):
        import_uspto([junk], tmp_path / "ds")
    other = tmp_path / "other.xml"
    other.write_text("<catalog><book/></catalog>", encoding="utf-8")
    with pytest.raises(UsptoImportError, match=r"other\.xml: XML root <catalog> is not a USPTO"):
        import_uspto([other], tmp_path / "ds")
    with pytest.raises(UsptoImportError, match="no such file"):
        import_uspto([tmp_path / "missing.xml"], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    assert not list(tmp_path.glob(".ds.*"))


def test_output_is_replaced_only_when_it_is_an_earlier_import(tmp_path):
    out = tmp_path / "ds"
    import_uspto([ST66], out)
    import_uspto([ST96], out)  # earlier import: replaced
    assert set(_by_id(out / "applications.csv")) == {"74631225"}
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(UsptoImportError, match="refusing to overwrite"):
        import_uspto([ST66], foreign)
    assert (foreign / "keep.txt").exists()


def test_sanction_events_become_one_decision(tmp_path):
    text = DAILY.read_text(encoding="utf-8")
    start = text.index("<serial-number>99772827</serial-number>")
    stop = text.index("</case-file>", start)
    record = (text[start:stop].replace("<status-code>630</status-code>", "<status-code>610</status-code>")
              .replace("<code>MAFR</code>", "<code>KOFS</code>")
              .replace("APPLICATION FILING RECEIPT MAILED", "ORDER FOR SANCTIONS"))
    src = tmp_path / "sanctioned.xml"
    src.write_text(text[:start] + record + text[stop:], encoding="utf-8")
    _, out = _run(tmp_path, src)
    apps = _by_id(out / "applications.csv")
    assert apps["99772827"]["status"] == "refused"
    decisions = _rows(out / "decisions.csv")
    assert [(d["application_id"], d["kind"], d["subject_name"]) for d in decisions] == [
        ("99772827", "administrative_penalty", "Fu Jiale")]
    assert decisions[0]["decision_date"] == "2026-04-19"


# --------------------------------------------------------------------------- case-files CSV layout


def test_case_files_dataset_layout_synthetic_fixture(tmp_path):
    report, out = _run(tmp_path, CASEFILES)
    assert report["sources"][0]["kind"] == "casefiles"
    apps = _by_id(out / "applications.csv")
    assert set(apps) == {"90000001", "90000002", "90000003", "90000006"}

    a1 = apps["90000001"]
    assert (a1["mark_text"], a1["filing_date"], a1["nice_classes"]) == ("ZOOMQUIX", "2021-03-15", "9;25;35")
    assert (a1["applicant_name"], a1["applicant_type"], a1["applicant_country"]) == ("Li Wei", "individual", "CN")
    assert a1["status"] == "lapsed"
    assert a1["agent_name"] == "Example Filing Agent"
    assert a1["goods_services"] == "Mobile phone cases | T-shirts; hats"

    a2 = apps["90000002"]
    assert a2["applicant_name"] == "Alpha Trading LLC"
    assert a2["applicant_address"] == "200 Alpha Street, Suite 5, New York, NY, 10001"
    assert a2["current_owner_name"] == "Beta Holdings Inc."
    assert a2["status"] == "invalidated"
    assert a2["registration_date"] == "2021-02-02"

    a3 = apps["90000003"]
    assert a3["mark_text"] == ""  # design only
    assert a3["status"] == "refused"

    a6 = apps["90000006"]
    assert a6["status"] == "opposed"
    assert (a6["applicant_country"], a6["applicant_type"]) == ("US", "individual")

    decisions = {(d["application_id"], d["kind"]): d for d in _rows(out / "decisions.csv")}
    assert set(decisions) == {("90000002", "invalidation"), ("90000003", "administrative_penalty")}
    assert decisions[("90000002", "invalidation")]["subject_name"] == "Beta Holdings Inc."
    assert decisions[("90000002", "invalidation")]["decision_date"] == "2024-06-30"
    assert decisions[("90000003", "administrative_penalty")]["decision_date"] == "2022-12-01"

    reasons = sorted(r["reason"] for r in _rows(out / "rejected" / "applications.csv"))
    assert reasons == ["missing serial number", "unparsable filing date: '2021-13-45'"]


def test_case_files_without_required_columns_is_refused(tmp_path):
    folder = tmp_path / "cf"
    folder.mkdir()
    (folder / "case_file.csv").write_text("serial,date\n1,2\n", encoding="utf-8")
    with pytest.raises(UsptoImportError, match=r"case_file\.csv: missing column\(s\) \['serial_no', 'filing_dt'\]"):
        import_uspto([folder], tmp_path / "ds")


# --------------------------------------------------------------------------- shipped code table


def test_shipped_status_table_covers_the_uspto_code_table():
    table = status_table()
    official = _rows(DATA / "uspto-code-tables" / "status_codes.csv")
    assert {r["code"] for r in official} == set(table)
    for code, (status, _desc) in table.items():
        assert status in STATUSES or (status == "" and code in {"622", "970"}), code
    assert table["700"][0] == "registered" and table["602"][0] == "lapsed"
    assert table["713"][0] == "invalidated" and table["774"][0] == "opposed"
    assert table["601"][0] == "withdrawn" and table["603"][0] == "refused"


def test_record_without_nice_class_is_quarantined(tmp_path):
    text = TDXF.read_text(encoding="utf-8")
    src = tmp_path / "us_only.xml"
    src.write_text(text.replace("<international-code>001</international-code>",
                                "<international-code>200</international-code>"), encoding="utf-8")
    _, out = _run(tmp_path, src)
    assert set(_by_id(out / "applications.csv")) == {"70011210"}
    (rej,) = _rows(out / "rejected" / "applications.csv")
    assert (rej["application_id"], rej["reason"]) == ("79001917", "no Nice class 1-45 (only US classes: 200)")
