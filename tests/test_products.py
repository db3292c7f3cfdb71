"""The catalog of intermediate products and its in-process runner (features/products.py)."""

import importlib

import pandas as pd

from core.config import load_config
from core.tables import Tables
from features import products
from features.registry import BUILDERS, NEEDS
from pipeline.stages import load_builders


def _tables(extras=None) -> Tables:
    return Tables(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                  extras=dict(extras or {}))


def make_a(tables, config):
    return ["a"]


def make_b(tables, config):
    return tables.extras["a"] + ["b"]


def test_ensure_makes_what_is_missing_in_order_and_keeps_what_is_there(monkeypatch):
    calls = []

    def counted(fn):
        return lambda tables, config: calls.append(fn.__name__) or fn(tables, config)

    monkeypatch.setattr(products, "CATALOG", {
        "a": products.Product("a", "tests.test_products:make_a"),
        "b": products.Product("b", "tests.test_products:make_b", ("a",))})
    monkeypatch.setattr(products, "make",
                        lambda key, tables, config: counted({"a": make_a, "b": make_b}[key])(tables, config))
    assert products.closure(["b"]) == ["a", "b"]
    bare = _tables()
    got = products.ensure(bare, None, ["b"])
    assert got.extras == {"a": ["a"], "b": ["a", "b"]} and calls == ["make_a", "make_b"]
    assert bare.extras == {}  # the input is not modified
    given = _tables({"a": ["given"]})
    assert products.ensure(given, None, ["b"]).extras["b"] == ["given", "b"]  # "a" is not made again
    assert calls == ["make_a", "make_b", "make_b"]
    assert products.ensure(got, None, ["a", "b"]) is got  # nothing missing: the same tables


def test_every_product_has_a_maker_and_every_builder_declares_known_products():
    for product in products.CATALOG.values():
        module, function = product.make.split(":")
        assert callable(getattr(importlib.import_module(module), function)), product.key
        assert set(product.needs) <= set(products.CATALOG)
    load_builders()
    assert set(NEEDS) == set(BUILDERS)
    for dimension, needs in NEEDS.items():
        assert set(needs) <= set(products.CATALOG), dimension


def test_a_builder_called_on_bare_tables_gets_its_products_made():
    """The squatting builder reads the trend table only from the extras; called on tables without
    it, its registration makes it first (with the same function the runners use)."""
    from features.squatting import build_squatting, global_trends

    apps = pd.DataFrame({"application_id": ["A1"], "applicant_key": ["c:x|"], "group_id": ["g"],
                         "filing_date": pd.to_datetime(["2024-01-01"]), "mark_text": ["瑞麒兰"],
                         "nice_classes": [[30]], "applicant_name": ["X"], "applicant_type": ["company"]})
    terms = pd.DataFrame(columns=["term", "category", "date"])
    tables = Tables(apps, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(columns=["mark_text", "owner_name"]), terms)
    config = load_config()
    bare = build_squatting(tables, config)
    given = build_squatting(Tables(apps, pd.DataFrame(), pd.DataFrame(), tables.protected_marks, terms,
                                   extras={products.TRENDS: global_trends(tables, config)}), config)
    pd.testing.assert_frame_equal(bare.applicant, given.applicant)
    assert tables.extras == {}
