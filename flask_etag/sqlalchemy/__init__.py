"""SQLAlchemy integration: items tagged by their version, collections by their tables' versions,
database outages answered 503, purges no crash can lose.

Imported only when used (``pip install flask-etag[sqlalchemy]``).
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401  (checked here, so a missing extra says how to install it)
except ImportError as error:  # pragma: no cover - exercised by tests/test_extras.py
    raise ImportError(
        "flask_etag.sqlalchemy needs SQLAlchemy: pip install 'flask-etag[sqlalchemy]'"
    ) from error

from .batches import BatchEntry, ETagBatchPreconditionFailed, read_batch, write_batch
from .collections import CollectionGenerator, CollectionState
from .items import ModelVersionGenerator
from .outages import DatabaseOutages, DatabaseUnavailable, is_database_outage
from .outbox import PurgeOutbox
from .table_versions import TableVersions

__all__ = [
    "BatchEntry",
    "CollectionGenerator",
    "CollectionState",
    "DatabaseOutages",
    "DatabaseUnavailable",
    "ETagBatchPreconditionFailed",
    "ModelVersionGenerator",
    "PurgeOutbox",
    "TableVersions",
    "is_database_outage",
    "read_batch",
    "write_batch",
]
