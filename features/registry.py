"""Registry of feature builders: one pure function per screening dimension.

A builder is ``build(tables: Tables, config: Config) -> FeatureResult``. It must not mutate the
frames in ``tables`` and must not import ``models``. Register with
``@register(Dimension.X, needs=(products.TRENDS, ...))``: the intermediate products it reads from
``tables.extras`` (``features.products``). The registered function ensures them first (made in
process when no runner has put them there), so the builder itself only reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from core.reasons import FLAG_COLUMNS, Dimension
from features import products


@dataclass
class FeatureResult:
    """What a builder returns.

    applicant: one row per applicant_key (index named ``applicant_key``), numeric feature columns
        prefixed by the dimension (``hoarding_n_30d``); every applicant of the input appears.
    severity: Series indexed like ``applicant`` — the builder's raw, documented, monotone severity
        (>= 0, 0 = nothing found, higher = riskier). models.scoring maps it into [0, 1].
    flags: application-level flags with FLAG_COLUMNS (application_id may be empty for flags that
        concern the applicant as a whole); ``strength`` in [0, 1].
    details: optional per-application evidence for the review app (e.g. the matched earlier mark).
    """

    applicant: pd.DataFrame
    severity: pd.Series
    flags: pd.DataFrame
    details: pd.DataFrame = field(default_factory=pd.DataFrame)


Builder = Callable[..., FeatureResult]
BUILDERS: dict[Dimension, Builder] = {}


NEEDS: dict[Dimension, tuple[str, ...]] = {}


def register(dimension: Dimension, needs: tuple[str, ...] = ()) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        @functools.wraps(fn)
        def build(tables, config) -> FeatureResult:
            return fn(products.ensure(tables, config, needs), config)

        BUILDERS[dimension] = build
        NEEDS[dimension] = tuple(needs)
        return build

    return deco


def empty_flags() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "strength" else "str") for c in FLAG_COLUMNS})
