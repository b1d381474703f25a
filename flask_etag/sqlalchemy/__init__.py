"""SQLAlchemy integration: items tagged by their version, collections by their tables' versions.

Imported only when used (``pip install flask-etag[sqlalchemy]``).
"""

from __future__ import annotations

from .collections import CollectionGenerator, CollectionState, TableVersions
from .items import ModelVersionGenerator

__all__ = ["CollectionGenerator", "CollectionState", "ModelVersionGenerator", "TableVersions"]
