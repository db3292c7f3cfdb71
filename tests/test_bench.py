"""make bench's plan of runs and its growth row (bench.suite), checked by hand."""

from bench.suite import growth, planned_runs


def test_national_size_adds_a_same_settings_run_of_the_largest_smaller_world():
    assert planned_runs([100_000, 1_000_000]) == [(100_000, False), (1_000_000, False)]
    assert planned_runs([100_000, 1_000_000, 10_000_000]) == [
        (100_000, False), (1_000_000, False), (1_000_000, True), (10_000_000, True)]
    assert planned_runs([10_000_000]) == [(10_000_000, True)]


def test_growth_compares_each_run_with_the_next_smaller_run_of_the_same_settings():
    runs = [{"n": 100_000, "config": "defaults", "total_s": 15.0},
            {"n": 1_000_000, "config": "defaults", "total_s": 90.0},
            {"n": 1_000_000, "config": "national_scale.toml", "total_s": 80.0},
            {"n": 10_000_000, "config": "national_scale.toml", "total_s": 920.0}]
    # 90 / 15 = 6.0; 920 / 80 = 11.5 (not against the 90 s run with the defaults)
    assert growth(runs) == ["", "×6.0 vs 100,000 (data ×10)", "", "×11.5 vs 1,000,000 (data ×10)"]


def test_the_newest_table_replaces_the_one_between_the_markers(tmp_path):
    from bench.suite import END, START, write_table

    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\nintro\n{START}\nold table\n{END}\nafter\n", encoding="utf-8")
    write_table(page, "| new | table |")
    assert page.read_text(encoding="utf-8") == f"# Performance\nintro\n{START}\n| new | table |\n{END}\nafter\n"
    page.write_text("no markers", encoding="utf-8")
    import pytest

    with pytest.raises(SystemExit, match="markers"):
        write_table(page, "x")
