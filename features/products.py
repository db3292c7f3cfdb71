"""The catalog of intermediate products: what several builders (or the register index) read, each
made by one named pure function of the tables (and the products it needs), declared here once.

| product | made by | needs | read by |
|---|---|---|---|
| ``MARKS`` | ``infringement.marks_product``: the distinct mark texts, prepared for matching | — | infringement, register index |
| ``MATCHES`` | ``infringement.matches_product``: the marks against each other | MARKS | infringement |
| ``PROTECTED_MATCHES`` | ``infringement.protected_matches_product``: the marks against the protected list (None without one) | MARKS | infringement |
| ``RELATED_CLASSES`` | ``class_relations.relations_product``: classes the register's coherent filers co-file | — | hoarding, infringement, register index |
| ``INDUSTRY_SCOPES`` | ``class_relations.scopes_product``: company names' industry words and the classes each word's companies file | — | hoarding |
| ``TRENDS`` | ``squatting.global_trends``: unlisted terms many unrelated groups start filing | — | squatting, infringement, register index |
| ``TRANSFER_LOOKUP`` | ``transfers.lookup_product``: assignees, resold marks' filing dates, agents | — | transfers |

**Runners** decide where a product is made; the builders only read ``tables.extras``:
- in process: ``ensure`` — every builder's registration (``features.registry.register(..., needs=)``)
  ensures what it needs before the builder runs, and ``pipeline.stages.run_builders`` makes the
  products several builders share once, before the builders' threads start;
- the spawned marks process (``pipeline.marks_job``): MARKS, MATCHES, PROTECTED_MATCHES, while the
  parent resolves entities;
- Dask (``pipeline.engines``): MATCHES by block partition, TRENDS by a shuffle on the mark core,
  TRANSFER_LOOKUP as a union over partitions, RELATED_CLASSES and INDUSTRY_SCOPES on the client.
A product already in ``tables.extras`` is never made again (``ensure`` fills only what is missing).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Any

MARKS = "infringement_marks"
MATCHES = "infringement_matches"
PROTECTED_MATCHES = "infringement_protected_matches"
RELATED_CLASSES = "class_relations"
INDUSTRY_SCOPES = "industry_scopes"
TRENDS = "squatting_trends"
TRANSFER_LOOKUP = "transfer_lookup"


@dataclass(frozen=True)
class Product:
    key: str
    make: str  # "module:function", function(tables, config) -> the product (imported when first made)
    needs: tuple[str, ...] = ()
    stage: str = ""  # the timer's stage name when a runner times it


CATALOG: dict[str, Product] = {p.key: p for p in (
    Product(MARKS, "features.infringement:marks_product", (), "features.marks"),
    Product(MATCHES, "features.infringement:matches_product", (MARKS,), "features.matches"),
    Product(PROTECTED_MATCHES, "features.infringement:protected_matches_product", (MARKS,), "features.protected"),
    Product(RELATED_CLASSES, "features.class_relations:relations_product", (), "features.relations"),
    Product(INDUSTRY_SCOPES, "features.class_relations:scopes_product", (), "features.scopes"),
    Product(TRENDS, "features.squatting:global_trends", (), "features.trends"),
    Product(TRANSFER_LOOKUP, "features.transfers:lookup_product", (), "features.transfer_lookup"),
)}


def make(key: str, tables, config) -> Any:
    """The product ``key`` made from ``tables`` (whose extras hold the products it needs)."""
    module, function = CATALOG[key].make.split(":")
    return getattr(importlib.import_module(module), function)(tables, config)


def closure(keys) -> list[str]:
    """``keys`` and everything they need, each after what it needs."""
    out: list[str] = []

    def visit(key: str) -> None:
        if key not in out:
            for need in CATALOG[key].needs:
                visit(need)
            out.append(key)

    for key in keys:
        visit(key)
    return out


def ensure(tables, config, keys, timer=None):
    """``tables`` with every product of ``keys`` (and what they need) in its extras: those already
    there are kept, the others made here, in order. The input is not modified (a new Tables)."""
    missing = [k for k in closure(keys) if k not in tables.extras]
    if not missing:
        return tables
    tables = replace(tables, extras=dict(tables.extras))
    for key in missing:
        if timer is None:
            tables.extras[key] = make(key, tables, config)
        else:
            with timer.stage(CATALOG[key].stage):
                tables.extras[key] = make(key, tables, config)
    return tables
