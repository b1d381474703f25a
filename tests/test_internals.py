"""What flask_etag relies on beyond the public APIs, proven against the installed releases.

The ``upcoming`` nox session runs these against the main branches of Flask and Werkzeug
(``../shared/upcoming/``), so a release that changes them fails here first.
"""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.datastructures import ETags

from flask_etag.internals import statement_cache_key
from flask_etag.tags import parse_entity_tag_list

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True))


def test_statement_cache_key_separates_shape_from_values() -> None:
    """Two pages of one query share a shape and differ only in their bound values."""
    first = statement_cache_key(sa.select(items).where(items.c.id > 1).limit(10))
    second = statement_cache_key(sa.select(items).where(items.c.id > 5).limit(10))
    other = statement_cache_key(sa.select(items).order_by(items.c.id))
    assert first.key == second.key
    assert first.key != other.key
    values = [parameter.effective_value for parameter in first.bindparams]
    assert values == [1, 10]


def test_werkzeug_parses_if_none_match_as_a_set_of_tags_rfc9110_13_1_2() -> None:
    """The parser werkzeug offers (``ETags.from_header`` from 3.2 on, ``parse_etags`` before),
    read by :func:`~flask_etag.tags.parse_entity_tag_list`, lists strong and weak tags apart."""
    parsed = parse_entity_tag_list(' "a", W/"b" ,, "\xe9t\xe9"')
    assert isinstance(parsed, ETags)
    assert parsed.as_set() == {"a", "\xe9t\xe9"}
    assert parsed.as_set(include_weak=True) == {"a", "b", "\xe9t\xe9"}
    assert parse_entity_tag_list(" * ").star_tag
