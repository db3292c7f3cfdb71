"""Importers: convert public trademark data products into tmscreen's data contract.

Each importer reads one family of source formats and writes a dataset folder
(``applications.csv`` + optional ``transfers.csv`` / ``decisions.csv``) that
``pipeline.contract`` validates like any other dataset.
"""

from pipeline.importers.uspto import UsptoImportError, import_uspto

__all__ = ["UsptoImportError", "import_uspto"]
