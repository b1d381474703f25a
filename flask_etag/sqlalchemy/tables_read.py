"""Which tables a collection's ``select()`` reads, and which a flush writes beyond its
mappers' own: what :class:`~flask_etag.sqlalchemy.TableVersions` counts and a
:class:`~flask_etag.sqlalchemy.CollectionGenerator` tag is made of (RFC 9110 §8.8.3).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import UnmappedColumnError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter


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


#: The referential actions by which the database writes the referencing rows itself (SQL
#: ``ON DELETE`` and ``ON UPDATE``); ``NO ACTION`` and ``RESTRICT`` refuse the write instead.
_WRITING_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})


def referencing_tables_written(session: Session) -> set[str]:
    """The tables whose rows the database itself deletes or changes as a flush deletes rows
    or changes the keys other rows reference: a foreign key's ``ON DELETE CASCADE`` or
    ``SET NULL`` (or ``ON UPDATE``), no mapper of theirs flushed, and maybe none loaded
    (``passive_deletes``, or no ``relationship()`` at all).  A list reading them changed
    all the same (RFC 9110 §8.8.3)."""
    deleted = [table for item in session.deleted for table in sa.inspect(item).mapper.tables]
    updated = [column for item in session.dirty for column in _referenced_columns_changed(item)]
    return tables_written_by_references(deleted, updated)


def tables_written_by_references(
    deleted: Iterable[sa.Table], updated: Iterable[sa.Column[Any]]
) -> set[str]:
    """The tables a foreign key's action writes when rows of ``deleted`` are deleted and
    values of ``updated`` change, through any number of tables (a cascade's cascade)."""
    names: set[str] = set()
    deleting, changing = list(deleted), list(updated)
    seen: set[Any] = {*deleting, *changing}
    while deleting or changing:
        if deleting:
            on_delete, table = True, deleting.pop()
            actions = [(key, key.ondelete) for key in _foreign_keys_to(table)]
        else:
            on_delete, column = False, changing.pop()
            references = _foreign_keys_to(column.table)
            actions = [(key, key.onupdate) for key in references if key.column is column]
        for key, action in actions:
            action = (action or "").upper()
            if action not in _WRITING_ACTIONS:
                continue
            names.add(key.parent.table.name)
            # A delete's CASCADE deletes the referencing rows; any other action changes
            # their referencing column, which a third table's key may reference in turn.
            if on_delete and action == "CASCADE":
                if key.parent.table not in seen:
                    seen.add(key.parent.table)
                    deleting.append(key.parent.table)
            elif key.parent not in seen:
                seen.add(key.parent)
                changing.append(key.parent)
    return names


def _foreign_keys_to(table: sa.Table) -> tuple[sa.ForeignKey, ...]:
    """The foreign keys of ``table``'s metadata that reference it."""
    return _foreign_keys_among(table, len(table.metadata.tables))


@functools.lru_cache(maxsize=256)
def _foreign_keys_among(table: sa.Table, _tables: int) -> tuple[sa.ForeignKey, ...]:
    """:func:`_foreign_keys_to`, once per table while its metadata holds ``_tables`` tables:
    every flush that deletes or updates rows asks."""
    found = []
    for other in table.metadata.tables.values():
        for key in other.foreign_keys:
            try:
                if key.references(table):
                    found.append(key)
            except sa.exc.NoReferenceError:  # to a table this metadata does not hold
                continue
    return tuple(found)


def _referenced_columns_changed(item: Any) -> Iterator[sa.Column[Any]]:
    """The columns of ``item`` that a foreign key with an ``ON UPDATE`` action references
    and that this flush changes."""
    state = sa.inspect(item)
    mapper = state.mapper
    for table in mapper.tables:
        for key in _foreign_keys_to(table):
            if (key.onupdate or "").upper() not in _WRITING_ACTIONS:
                continue
            try:
                attribute = mapper.get_property_by_column(key.column).key
            except UnmappedColumnError:
                continue
            if state.attrs[attribute].history.has_changes():
                yield key.column


def table_names(clause: sa.ClauseElement) -> set[str]:
    """The names of the tables in ``clause`` (a table, a join, a select)."""
    return {element.name for element in visitors.iterate(clause) if isinstance(element, sa.Table)}


def tables_read(statement: sa.Select[Any] | sa.CompoundSelect[Any]) -> tuple[str, ...]:
    """The names of the tables a ``select()`` (or a ``union()`` of them) reads, joins,
    subqueries and CTEs included."""
    return read_by(statement)[0]


def read_by(statement: sa.Select[Any] | sa.CompoundSelect[Any]) -> tuple[tuple[str, ...], bool]:
    """:func:`tables_read`, and whether an ``IN`` list of ``statement`` is out of the order
    :func:`in_lists_in_order` gives it, found in the same walk of the select."""
    names: set[str] = set()
    unordered = False
    for element in visitors.iterate(statement):
        if isinstance(element, sa.Table):
            names.add(element.name)
        elif isinstance(element, BindParameter) and element.expanding and not unordered:
            value = element.value
            unordered = isinstance(value, list) and value != _in_order(value)
    names |= _tables_of_column_properties(statement)
    if not names:
        raise TypeError(f"the collection's select() reads no table: {statement}")
    return tuple(sorted(names)), unordered


def in_lists_in_order(
    statement: sa.Select[Any] | sa.CompoundSelect[Any],
) -> sa.Select[Any] | sa.CompoundSelect[Any]:
    """``statement`` with the values of each ``IN`` list sorted: what it selects is the same,
    but the parameters the driver gets no longer follow the order of a ``set`` given to
    ``in_()``, which ``PYTHONHASHSEED`` decides for strings: every host hashes the same ones
    (RFC 9110 §8.8.3, one state, one tag)."""

    def sort_in_list(bind: BindParameter[Any]) -> None:
        if bind.expanding and isinstance(bind.value, list):
            bind.value = _in_order(bind.value)

    selected: sa.Select[Any] | sa.CompoundSelect[Any] = visitors.cloned_traverse(
        statement, {}, {"bindparam": sort_in_list}
    )
    return selected


def _in_order(values: list[Any]) -> list[Any]:
    """``values`` sorted by their own order, or by their ``repr`` where they have none."""
    try:
        return sorted(values)
    except TypeError:  # mixed types, or None among them
        return sorted(values, key=repr)


def _tables_of_column_properties(statement: sa.SelectBase) -> set[str]:
    """The tables read by the column properties of the entities ``statement`` selects whole:
    a ``column_property`` reading another table (a count of reviews) is rendered into the
    SQL only as it is compiled, so walking the select does not meet it.  A ``union()`` has
    no entities of its own: each of its selects has (RFC 9110 §8.8.3)."""
    if isinstance(statement, sa.CompoundSelect):
        return set().union(*map(_tables_of_column_properties, statement.selects))
    if not isinstance(statement, sa.Select):  # text().columns(): walking it meets its tables
        return set()
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
