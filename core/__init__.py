"""The base layer every package imports and which imports none of them: the tables of a dataset
and their Arrow helpers (``core.tables``), the one configuration object and its defaults
(``core.config``, ``core/default_config.toml``), and the reason codes with their dimensions
(``core.reasons``), and the user-error base class (``core.errors``). ``features`` builds on it, ``pipeline``, ``models``, ``review`` and
``evaluation`` on both."""
