"""The version of a post or reply that readers see now (docs/protocol.md, 10.8).

An edit replaces the text, tags, links, mentions and (for a post) the question mark of the
entry it names; the edit with the highest seq is the current version. The app's items,
the quotes in shares and the command line's output all take it from here, so they never
disagree (a withdrawn question is no longer a question anywhere).
"""

from __future__ import annotations

from dataclasses import replace

from lndesk.content import Content, Edit, Post, Reply


def current_version(original: Content, edit: Edit | None) -> Content:
    """``original`` as its latest ``edit`` makes it; anything else is never edited."""
    if edit is None:
        return original
    if isinstance(original, Post):
        return replace(
            original,
            text=edit.text,
            tags=edit.tags,
            links=edit.links,
            mentions=edit.mentions,
            question=edit.question,
        )
    if isinstance(original, Reply):
        return replace(
            original, text=edit.text, tags=edit.tags, links=edit.links, mentions=edit.mentions
        )
    return original
