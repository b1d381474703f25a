"""Which tables a collection's ``select()`` reads, and which a flush writes beyond its
mappers' own: what :class:`~flask_etag.sqlalchemy.TableVersions` counts and a
:class:`~flask_etag.sqlalchemy.CollectionGenerator` tag is made of (RFC 9110 §8.8.3).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.sql import visitors


def association_tables_written(session: Session) -> set[str]:
    """The ``secondary=`` tables a flush wrote rows of: the ORM inserts and deletes them for
    a relationship whose collection changed (on either side) or whose instance was deleted,
    though no mapper of theirs is flushed (RFC 9110 §8.8.3: a list reading them changed)."""
    deleted = session.deleted  # the flush's state: after_flush still shows it
    names: set[str] = set()
    for item in (*session.new, *session.dirty, *deleted):
        state = sa.inspect(item)
        for relationship in state.mapper.relationships:
            if relationship.secondary is None or relationship.viewonly:
                continue
            if item in deleted or state.attrs[relationship.key].history.has_changes():
                names.update(table_names(relationship.secondary))
    return names


def table_names(clause: sa.ClauseElement) -> set[str]:
    """The names of the tables in ``clause`` (a table, a join, a select)."""
    return {element.name for element in visitors.iterate(clause) if isinstance(element, sa.Table)}


def tables_read(statement: sa.Select[Any]) -> tuple[str, ...]:
    """The names of the tables a ``select()`` reads, joins, subqueries and CTEs included."""
    names = table_names(statement) | _tables_of_column_properties(statement)
    if not names:
        raise TypeError(f"the collection's select() reads no table: {statement}")
    return tuple(sorted(names))


def _tables_of_column_properties(statement: sa.Select[Any]) -> set[str]:
    """The tables read by the column properties of the entities ``statement`` selects whole:
    a ``column_property`` reading another table (a count of reviews) is rendered into the
    SQL only as it is compiled, so walking the select does not meet it."""
    names: set[str] = set()
    for described in statement.column_descriptions:
        entity = described.get("entity")
        if entity is None or described.get("expr") is not entity:
            continue  # a column, or no ORM entity: walking the select meets what it reads
        names |= _tables_of_mapper_expressions(sa.inspect(entity).mapper)
    return names


@functools.lru_cache(maxsize=256)
def _tables_of_mapper_expressions(mapper: Mapper[Any]) -> frozenset[str]:
    """The tables ``mapper``'s column properties read beyond its own columns; once per
    mapper, since every lookup of a collection (its 304s included) asks again."""
    names: set[str] = set()
    for column_property in mapper.column_attrs:
        for column in column_property.columns:
            if not isinstance(column, sa.Column):  # a column of its own table: met
                names |= table_names(column)
    return frozenset(names)
