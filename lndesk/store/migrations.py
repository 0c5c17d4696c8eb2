"""The index schema, as numbered migrations applied in order.

The index is derived from the log and can always be rebuilt (``lndesk reindex``), but
migrations let an upgrade keep a large index instead of rebuilding it. Migration N
brings ``PRAGMA user_version`` from N-1 to N. Never edit a released migration; add one.
"""

from __future__ import annotations

import sqlite3

from lndesk.errors import StoreError
from lndesk.store.schema_version import apply_migrations

MIGRATIONS: tuple[str, ...] = (
    # 1: feeds, entries, fork proofs, follow edges, tags and references.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB
    );
    CREATE TABLE feeds (
        feed INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,
        height INTEGER NOT NULL DEFAULT 0,      -- entries 1..height are all stored
        max_seq INTEGER NOT NULL DEFAULT 0,     -- highest stored sequence number
        forked_at INTEGER,                      -- lowest seq with two signed entries
        name TEXT,
        bio TEXT,
        profile_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        claimed_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        type TEXT NOT NULL,
        payload_state INTEGER NOT NULL,         -- 0 present, 1 absent, 2 invalid
        offset INTEGER NOT NULL,                -- of its record in the log file
        deleted INTEGER NOT NULL DEFAULT 0,     -- a tombstone of its author names it
        PRIMARY KEY (feed, seq)
    ) WITHOUT ROWID;
    -- No index on id: ids are random hashes, and such an index costs a fifth of the ingest
    -- time. References carry (author, seq, id), so lookups go through the primary key;
    -- only ids a person types are searched by a scan.
    CREATE INDEX entries_by_time ON entries (claimed_ms);
    CREATE TABLE forks (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        offset INTEGER NOT NULL,
        PRIMARY KEY (feed, seq, id)
    ) WITHOUT ROWID;
    CREATE TABLE follows (
        src INTEGER NOT NULL,
        dst INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- the follow/unfollow entry that decided
        active INTEGER NOT NULL,
        PRIMARY KEY (src, dst)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        tag TEXT NOT NULL,
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (tag, feed, seq)
    ) WITHOUT ROWID;
    CREATE TABLE refs (
        target BLOB NOT NULL,                   -- id of the entry referred to
        kind TEXT NOT NULL,                     -- parent, root, share, tombstone
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (target, kind, feed, seq)
    ) WITHOUT ROWID;
    """,
    # 2: inboxes, edits, reading lists, tag totals, full-text search and pending purges.
    # All derived from payloads, so INDEX_RULES 2 rebuilds every index once to fill them.
    """
    CREATE TABLE addressed (
        key BLOB NOT NULL,                      -- public key the entry is addressed to
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,                     -- reply, share or mention (first that applies)
        PRIMARY KEY (key, feed, seq)
    ) WITHOUT ROWID;
    CREATE TABLE edit_claims (
        feed INTEGER NOT NULL,
        edit_seq INTEGER NOT NULL,              -- an edit entry of the feed, with its payload
        seq INTEGER NOT NULL,                   -- the seq it names (ref.seq < edit_seq)
        ref_id BLOB NOT NULL,                   -- the id it names
        PRIMARY KEY (feed, edit_seq)
    ) WITHOUT ROWID;
    CREATE INDEX edit_claims_by_target ON edit_claims (feed, seq);
    CREATE TABLE edits (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- a stored, not deleted post or reply
        edit_seq INTEGER NOT NULL,              -- its latest effective edit: the current version
        PRIMARY KEY (feed, seq)
    ) WITHOUT ROWID;
    CREATE TABLE list_versions (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- a readinglist entry, with its payload
        first_seq INTEGER NOT NULL,             -- the list's first version: seq itself, or of.seq
        first_id BLOB NOT NULL,                 -- its id (the entry's own, or of.id)
        PRIMARY KEY (feed, seq)
    ) WITHOUT ROWID;
    CREATE INDEX list_versions_by_list ON list_versions (feed, first_seq);
    CREATE TABLE lists (
        feed INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,             -- a stored, not deleted first version
        latest_seq INTEGER NOT NULL,            -- the version with the highest seq: the state
        title TEXT NOT NULL,                    -- of that version
        PRIMARY KEY (feed, first_seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX lists_by_latest ON lists (feed, latest_seq);
    CREATE TABLE tag_totals (
        feed INTEGER NOT NULL,
        tag TEXT NOT NULL,
        n INTEGER NOT NULL,                     -- rows of tags with this feed and tag
        PRIMARY KEY (feed, tag)
    ) WITHOUT ROWID;
    -- One author's entries in timeline order: unread counts and author pages.
    CREATE INDEX entries_by_feed_time ON entries (feed, claimed_ms);
    CREATE TABLE purges (
        offset INTEGER PRIMARY KEY,             -- a log record whose payload is still to go
        id BLOB NOT NULL                        -- the id of its entry
    );
    -- The current text of every post and reply (edited text in place of the original's),
    -- share comment and reading list (title and notes of its current state). The rowid
    -- orders documents by time (lndesk.store.fulltext); facets holds filter tokens.
    -- No prefix index: it doubles the cost of indexing a post (the sync path), and
    -- prefixes of three letters or more are fast enough without one. No column sizes:
    -- results are ordered by time, not bm25. Merging segments 8 at a time rather than 4
    -- makes indexing about a sixth cheaper; queries do not notice.
    CREATE VIRTUAL TABLE search USING fts5(
        text, facets, feed UNINDEXED, seq UNINDEXED,
        tokenize = "unicode61 remove_diacritics 2", columnsize = 0
    );
    INSERT INTO search(search, rank) VALUES ('automerge', 8);
    """,
    # 3: documents staged for the full-text index (lndesk.store.fulltext). Indexes of
    # schema 2 have all their text indexed already: nothing to stage.
    """
    -- Documents waiting for the full-text index: storing an entry only stages its document
    -- here (writing it into FTS5 costs more than storing the entry), and Store.index_text
    -- moves staged documents into ``search`` later, in chunks (the node's indexer; a
    -- search first). A document is in one of the two, never both. No text here: it is
    -- read from the log when indexed, so staging is cheap and a deleted entry's text
    -- cannot linger. Rows in staging order; the index on (feed, seq) finds a document
    -- to remove and keeps counting them cheap.
    CREATE TABLE search_pending (
        id INTEGER PRIMARY KEY,
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- the document's entry: its time and type
        source INTEGER NOT NULL                 -- the entry whose payload holds the text:
                                                -- seq itself, or the post's latest edit
    );
    CREATE UNIQUE INDEX search_pending_by_entry ON search_pending (feed, seq);
    """,
    # 4: entries whose payloads are missing (lndesk.store.fill): held without a payload
    # that no tombstone deleted (those are payload_state 3). Small; sync asks for them.
    """
    CREATE INDEX entries_missing_payload ON entries (feed, seq) WHERE payload_state = 1;
    """,
    # 5: entries found by the first bytes of their id (lndesk.store.idprefix): an id a
    # person types, as in "lndesk reply 4ac715", which scanned the whole table before.
    """
    CREATE TABLE entry_ids (
        prefix BLOB NOT NULL,                   -- the first 4 bytes of the entry's id
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (prefix, feed, seq)
    ) WITHOUT ROWID;
    -- Runs of entries stored since the last fold into entry_ids, in the order stored.
    CREATE TABLE entry_ids_pending (
        id INTEGER PRIMARY KEY,
        feed INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL
    );
    -- The entries stored so far wait as one run per feed: a migration at open stays
    -- instant (indexing a million ids takes seconds); the background indexer folds them.
    INSERT INTO entry_ids_pending(feed, first_seq, last_seq)
        SELECT feed, 1, max_seq FROM feeds WHERE max_seq > 0 ORDER BY feed;
    """,
    # 6: which posts are questions (lndesk.store.questions): whether a post asks is in its
    # payload or its latest edit's, so lists of questions had to read posts to find them.
    """
    CREATE TABLE questions (
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- a stored, not deleted post whose current
                                                -- version (the post or its latest edit) asks
        claimed_ms INTEGER NOT NULL,            -- the post's: lists of questions by time
        PRIMARY KEY (feed, seq)
    ) WITHOUT ROWID;
    CREATE INDEX questions_by_time ON questions (claimed_ms, feed, seq);
    -- The posts stored so far are read for it when the index is next opened, once
    -- (lndesk.store.asked.backfill, which removes this mark).
    INSERT INTO meta(key, value) VALUES ('questions_backfill', x'01');
    """,
    # 7: pseudonyms revealed by their owners (lndesk.store.reveals): one row per reveal
    # whose proof verified when it was indexed (docs/protocol.md 10.13). Derived from
    # payloads, so INDEX_RULES 4 rebuilds every index once to fill it.
    """
    CREATE TABLE reveals (
        key BLOB NOT NULL,                      -- the pseudonym's public key
        feed INTEGER NOT NULL,                  -- the author of the reveal
        seq INTEGER NOT NULL,
        PRIMARY KEY (key, feed, seq)
    ) WITHOUT ROWID;
    CREATE INDEX reveals_by_author ON reveals (feed);
    """,
    # 8: a full-text index without a copy of the text (lndesk.store.fulltext), and rowids
    # of 10 slot bits rather than 20. Every indexed document is staged again, newest
    # first, with the entry its text is in (the post's latest edit, or itself): opening
    # stays quick, and the background indexer fills the new table from the log. The old
    # table's pages are reused as the index grows (lndesk reindex writes a compact file).
    """
    INSERT OR IGNORE INTO search_pending(feed, seq, source)
        SELECT s.feed, s.seq, COALESCE(e.edit_seq, s.seq)
        FROM search s LEFT JOIN edits e ON e.feed = s.feed AND e.seq = s.seq
        ORDER BY s.rowid DESC;
    DROP TABLE search;
    -- Words and positions only (content=''): a document's text is in the log, read back
    -- to show it or to remove the document. Otherwise as migration 2's table.
    CREATE VIRTUAL TABLE search USING fts5(
        text, facets, content = '',
        tokenize = "unicode61 remove_diacritics 2", columnsize = 0
    );
    INSERT INTO search(search, rank) VALUES ('automerge', 8);
    -- Which entry each document of ``search`` is (doc = its rowid), and the entry whose
    -- payload holds its text; a contentless table keeps neither.
    CREATE TABLE search_docs (
        doc INTEGER PRIMARY KEY,
        feed INTEGER NOT NULL,
        seq INTEGER NOT NULL,                   -- 0: a document whose text could not be
                                                -- read back to remove it (its rowid stays
                                                -- taken; no entry has seq 0)
        source INTEGER NOT NULL
    );
    """,
    # 9: the active follows of each feed by whom they are followed
    # (lndesk.store.threads.audience): whether a replier is within two hops of a root's
    # author is a walk of the replier's followers, not of all the author's followees'.
    """
    CREATE INDEX IF NOT EXISTS follows_by_dst ON follows (dst, src) WHERE active = 1;
    """,
    # 10: the facet ``q`` on the full-text documents of questions (lndesk.store.fulltext),
    # so that a search of open or answered questions with words lets FTS5 skip the other
    # documents instead of walking every match. The documents indexed so far get it when
    # the index is next opened, once (lndesk.store.fulltext.add_question_facets, which
    # removes this mark; it reads the text of each question from the log).
    """
    INSERT INTO meta(key, value) VALUES ('question_facets', x'01');
    """,
    # 11: the targets of each feed's tombstones (lndesk.store.index.Index.tombstoned_ids):
    # whether a batch stored below a feed's newer entries is named by one of its
    # tombstones is one short range of this index (none at all for most feeds), not a
    # lookup of every id of the batch in ``refs``' primary key.
    """
    CREATE INDEX IF NOT EXISTS refs_tombstones ON refs (feed, target) WHERE kind = 'tombstone';
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

FEED_MIGRATIONS: tuple[str, ...] = (
    # 1: followed web feeds and their items (lndesk.store.feedstore). They live in their own
    # file, feeds.sqlite3, not in the index: nothing in the log derives them, so rebuilding
    # the index must not touch them.
    """
    CREATE TABLE subscriptions (
        sub INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL UNIQUE,               -- polled now (a permanent redirect moves it)
        added_url TEXT NOT NULL,                -- as the user gave it
        title TEXT NOT NULL DEFAULT '',
        site TEXT NOT NULL DEFAULT '',
        added_ms INTEGER NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_fetch_ms INTEGER,                  -- last attempt, whatever its outcome
        last_ok_ms INTEGER,                     -- last 200 or 304
        error TEXT,                             -- the last attempt's failure, or NULL
        failures INTEGER NOT NULL DEFAULT 0,    -- attempts failed in a row
        next_ms INTEGER NOT NULL DEFAULT 0,     -- when it is polled next
        paused TEXT,                            -- why it is not polled, or NULL
        moved_to TEXT,                          -- a permanent redirect to another site
        take_all INTEGER NOT NULL DEFAULT 0     -- the next refresh stores however many are new
    );
    CREATE INDEX subscriptions_by_next ON subscriptions (next_ms) WHERE paused IS NULL;
    CREATE TABLE items (
        item INTEGER PRIMARY KEY AUTOINCREMENT,
        sub INTEGER NOT NULL REFERENCES subscriptions (sub) ON DELETE CASCADE,
        guid TEXT NOT NULL,                     -- the feed's id for it, or ''
        match_key TEXT NOT NULL,                -- link (or enclosure) and title: dedup
        link TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,                     -- markdown reduced from the feed's HTML
        author TEXT NOT NULL,
        enclosures TEXT NOT NULL,               -- JSON list of [url, mime, length, seconds]
        published_ms INTEGER NOT NULL,          -- claimed (never later than first seen)
        seen_ms INTEGER NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        bookmarked_ms INTEGER                   -- NULL: not bookmarked
    );
    CREATE UNIQUE INDEX items_by_guid ON items (sub, guid) WHERE guid != '';
    CREATE INDEX items_by_match ON items (sub, match_key);
    CREATE INDEX items_by_time ON items (published_ms, item);
    CREATE INDEX items_unread ON items (sub) WHERE read = 0;
    CREATE TABLE item_tags (
        tag TEXT NOT NULL,
        item INTEGER NOT NULL REFERENCES items (item) ON DELETE CASCADE,
        PRIMARY KEY (tag, item)
    ) WITHOUT ROWID;
    CREATE INDEX item_tags_by_item ON item_tags (item);
    -- Title and text of every item; rowid = items.item.
    CREATE VIRTUAL TABLE item_search USING fts5(
        title, text, tokenize = "unicode61 remove_diacritics 2", columnsize = 0
    );
    """,
    # 2: items by link, so that the timeline shows an article that comes in two feeds once
    # (lndesk.store.feedmerge).
    """
    CREATE INDEX items_by_link ON items (link) WHERE link != '';
    """,
)


def _newer_index(version: int, known: int) -> StoreError:
    return StoreError(
        f"the index was written by a newer lndesk (schema {version}, this one knows {known})",
        "Upgrade lndesk, or run lndesk reindex to rebuild the index for this version.",
    )


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the index schema up to SCHEMA_VERSION."""
    apply_migrations(conn, MIGRATIONS, _newer_index)
