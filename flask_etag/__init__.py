"""flask_etag: RFC 9110 ETags and conditional requests for Flask.

``@etag`` answers ``304 Not Modified`` to unchanged representations, ``@require_if_match``
answers ``428``/``412`` so concurrent clients never silently overwrite each other.
"""

from __future__ import annotations

from .conditions import Outcome, Validators, evaluate_preconditions
from .context import checked_version, set_response_version
from .decorators import etag, require_if_match
from .exceptions import (
    ETagBodyPreconditionInvalid,
    ETagConfigurationError,
    ETagConflict,
    ETagError,
    ETagPreconditionFailed,
    ETagPreconditionRequired,
)
from .extension import ETag
from .generators import HashGenerator, TagGenerator, TimestampGenerator, VersionGenerator
from .invalidation import announce_write
from .item_tags import item_etag, item_tagger
from .purging import purge_statistics
from .signals import (
    etag_not_modified,
    etag_precondition_failed,
    etag_precondition_required,
    etag_purge_circuit_closed,
    etag_purge_circuit_opened,
    etag_purge_failed,
    etag_written,
)

__version__ = "0.1.0"

__all__ = [
    "ETag",
    "ETagBodyPreconditionInvalid",
    "ETagConfigurationError",
    "ETagConflict",
    "ETagError",
    "ETagPreconditionFailed",
    "ETagPreconditionRequired",
    "HashGenerator",
    "Outcome",
    "TagGenerator",
    "TimestampGenerator",
    "Validators",
    "VersionGenerator",
    "announce_write",
    "checked_version",
    "etag",
    "etag_not_modified",
    "etag_precondition_failed",
    "etag_precondition_required",
    "etag_purge_circuit_closed",
    "etag_purge_circuit_opened",
    "etag_purge_failed",
    "etag_written",
    "evaluate_preconditions",
    "item_etag",
    "item_tagger",
    "purge_statistics",
    "require_if_match",
    "set_response_version",
]
