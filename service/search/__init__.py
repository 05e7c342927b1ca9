"""Full-text search of published announcements: one interface (``backend.SearchBackend``), one
implementation per database (``sqlite``: FTS5, ``postgres``: tsvector), chosen by the engine's
dialect in ``queries.search``."""
