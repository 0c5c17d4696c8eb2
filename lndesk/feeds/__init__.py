"""Web feeds (RSS 2.0, Atom, JSON Feed) followed beside people, and the Atom feed of one's
own log: fetching, parsing, discovery, OPML and the polling policy.

This layer may use feedparser, listparser and httpx; it knows nothing of the store, the
network of peers or the front ends (the app wires it to :mod:`lndesk.store.feedstore`).
Everything a feed says is hostile: documents are bounded before they are parsed, and
their HTML is reduced to plain markdown (:mod:`lndesk.feeds.htmltext`) that the same safe
renderer as peers' posts draws.
"""
