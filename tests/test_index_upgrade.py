"""Opening a store whose index an older lndesk wrote: the result is the index a rebuild
of the log builds, and an index built by older rules (which is rebuilt anyway) is not
first migrated: migration 6 would read every post for the questions table, migration 8
would stage every document again, both for an index thrown away next."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from index_dump import index_rows
from search_index import CONTENTLESS, indexed_documents, with_text_copy
from store_helpers import BASE_MS, make_identity

from lndesk.content import (
    Edit,
    Follow,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Reply,
    Share,
    Tombstone,
    Unfollow,
)
from lndesk.entry_refs import ref_of
from lndesk.store import index as index_module
from lndesk.store import migrations
from lndesk.store.fulltext import QUESTION_FACET, without_question
from lndesk.store.migrations import SCHEMA_VERSION
from lndesk.store.schema_version import schema_version
from lndesk.store.store import INDEX_NAME, INDEX_RULES, Store

ANN, BEN = make_identity(71), make_identity(72)
MINUTE = 60_000
QUESTION_FACETS = 10
"""The migration that gave the documents of questions their facet."""

RELEASED = [
    (1, None),
    (1, b"1"),
    (2, b"2"),
    (3, b"2"),
    (3, b"3"),
    (4, b"3"),
    (5, b"3"),
    (6, b"3"),
    (7, b"4"),
    (8, b"4"),
    (9, b"4"),
]
"""(schema version, index rules) of the indexes released lndesks left: none of them
was built by today's rules."""

LATER_MIGRATIONS: dict[int, str] = {
    # What migration N added, taken away again (migration 8 is undone by with_text_copy).
    11: "DROP INDEX refs_tombstones;",
    9: "DROP INDEX follows_by_dst;",
    7: "DROP TABLE reveals;",
    6: "DROP TABLE questions;",
    5: "DROP TABLE entry_ids; DROP TABLE entry_ids_pending;",
    4: "DROP INDEX entries_missing_payload;",
    3: "DROP TABLE search_pending;",
    2: "DROP TABLE addressed; DROP TABLE edit_claims; DROP TABLE edits; "
    "DROP TABLE list_versions; DROP TABLE lists; DROP TABLE tag_totals; "
    "DROP TABLE purges; DROP TABLE search; DROP INDEX entries_by_feed_time;",
}


def library(store: Store) -> None:
    """Posts, questions made and unmade by edits, a deleted question, a reply, a share,
    a reading list updated once, follows and a profile."""
    at = iter(range(BASE_MS, BASE_MS + 1000 * MINUTE, MINUTE))
    store.publish(ANN, Profile("Ann", "reads about memory"), next(at))
    store.publish(BEN, Follow(ANN.public_key), next(at))
    asked = store.publish(ANN, Post("which book on memory first?", question=True), next(at))
    plain = store.publish(ANN, Post("a note on #retrieval", tags=("Retrieval",)), next(at))
    store.publish(ANN, Edit(ref_of(plain), "a note: which one?", question=True), next(at))
    taken = store.publish(BEN, Post("why spacing?", question=True), next(at))
    store.publish(BEN, Edit(ref_of(taken), "spacing, I see now"), next(at))
    gone = store.publish(BEN, Post("a deleted question?", question=True), next(at))
    store.publish(BEN, Tombstone(ref_of(gone)), next(at))
    root = ref_of(asked)
    store.publish(BEN, Reply("start with Make It Stick", root, root), next(at))
    store.publish(BEN, Share(ref_of(plain), comment="worth reading"), next(at))
    books = ReadingList("Memory", (ListItem(link="https://example.org/a", note="first"),))
    listed = store.publish(ANN, books, next(at))
    later = (ListItem(link="https://example.org/b", note="then"),)
    store.publish(ANN, ReadingList("Memory", later, of=ref_of(listed)), next(at))
    store.publish(BEN, Unfollow(ANN.public_key), next(at))
    for number in range(30):
        store.publish((ANN, BEN)[number % 2], Post(f"note {number} on practice"), next(at))


def as_released(directory: Path, schema: int, rules: bytes | None) -> None:
    """Turn the store's index into one that lndesk at ``schema`` built by ``rules``
    (None: before the index recorded its rules)."""
    with Store(directory) as store:
        settle(store)
        if schema < QUESTION_FACETS:
            without_question_facets(store)
        if schema < CONTENTLESS:
            with_text_copy(store)
    drops = [LATER_MIGRATIONS[n] for n in sorted(LATER_MIGRATIONS, reverse=True) if n > schema]
    meta = "DELETE FROM meta WHERE key = 'rules';"
    if rules is not None:
        meta += f"INSERT INTO meta(key, value) VALUES ('rules', x'{rules.hex()}');"
    conn = sqlite3.connect(directory / INDEX_NAME)
    try:
        conn.executescript(
            f"BEGIN; {' '.join(drops)} {meta} PRAGMA user_version = {schema}; COMMIT;"
        )
    finally:
        conn.close()


def without_question_facets(store: Store) -> None:
    """The documents of questions as indexes before migration QUESTION_FACETS hold them."""
    conn = store.index.conn
    for doc, found in indexed_documents(store).items():
        if QUESTION_FACET in found.facets.split(" "):
            conn.execute(
                "INSERT INTO search(search, rowid, text, facets) VALUES ('delete', ?, ?, ?)",
                (doc, found.text, found.facets),
            )
            conn.execute(
                "INSERT INTO search(rowid, text, facets) VALUES (?, ?, ?)",
                (doc, found.text, without_question(found.facets)),
            )


def settle(store: Store) -> None:
    """Index the staged documents and fold the staged ids, as the node's indexer does."""
    while store.index_text():
        pass


def assert_rebuilt_alike(directory: Path) -> None:
    """The index in ``directory`` holds what a rebuild of its log holds, table by table."""
    upgraded = index_rows(directory / INDEX_NAME)
    with Store(directory, reindex=True) as store:
        settle(store)
    rebuilt = index_rows(directory / INDEX_NAME)
    assert upgraded.keys() == rebuilt.keys()
    for table in rebuilt:
        assert upgraded[table] == rebuilt[table], table


@pytest.fixture
def migrated_from(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The schema version of every index file opened, as found before migrating it."""
    found: list[int] = []

    def migrate(conn: sqlite3.Connection) -> None:
        found.append(schema_version(conn))
        migrations.migrate(conn)

    monkeypatch.setattr(index_module, "migrate", migrate)
    return found


@pytest.mark.parametrize(("schema", "rules"), RELEASED)
def test_an_index_of_older_rules_is_rebuilt_without_being_migrated_first(
    tmp_path: Path, migrated_from: list[int], schema: int, rules: bytes | None
) -> None:
    directory = tmp_path / "data"
    with Store(directory) as store:
        library(store)
    as_released(directory, schema, rules)
    migrated_from.clear()
    with Store(directory) as store:
        assert store.warnings == ["this version reads entries differently; rebuilding the index"]
        assert schema_version(store.index.conn) == SCHEMA_VERSION
        assert store.index.get_meta("rules") == INDEX_RULES
        settle(store)
    assert migrated_from == [0], "the old index was migrated before it was thrown away"
    assert_rebuilt_alike(directory)


@pytest.mark.parametrize("schema", [5, 6, 7, 8, 9])
def test_an_index_of_todays_rules_is_migrated_to_what_a_rebuild_holds(
    tmp_path: Path, migrated_from: list[int], schema: int
) -> None:
    """Schema 9 is the index of the last release; the older ones no lndesk left (each
    rules bump came with or after their migrations), but they are kept and migrated too."""
    directory = tmp_path / "data"
    with Store(directory) as store:
        library(store)
    as_released(directory, schema, INDEX_RULES)
    migrated_from.clear()
    with Store(directory) as store:
        assert store.warnings == []
        settle(store)
    assert migrated_from == [schema]
    assert_rebuilt_alike(directory)
