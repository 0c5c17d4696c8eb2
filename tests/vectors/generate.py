"""Write the known-answer test vectors of docs/protocol.md.

Run from the project root::

    python tests/vectors/generate.py

Everything is derived from fixed seeds, fixed timestamps and fixed nonces (Ed25519
signatures are deterministic), so running this again writes byte-identical files.
Every value has one type, known without guessing (docs/protocol.md section 18.1):

* every CBOR value (an entry's content, a parse result, a sync or catch-up message, a
  negative vector's input) is described in a small tagged JSON form, so that it can be
  rebuilt exactly in any language:

  * ``{"int": "-25"}`` an integer (decimal text, so 64-bit values survive JSON parsers);
  * ``{"bytes": "00ff"}`` a byte string; ``{"text": "..."}`` a text string;
  * ``{"array": [...]}`` an array of described values;
  * ``{"map": [["key", value], ...]}`` a map with text keys, pairs in the order given
    (deliberately not always the canonical order: encoding must sort them);
  * ``{"bool": true}``, ``{"null": null}``;

* every other field has the type its key gives: text for the keys listed there, lowercase
  hex for every other string, JSON numbers for integers.

tests/vector_reading.py checks every file against these rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import trio

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The project root for lndesk, this directory for the generator's own modules (also when
# this file is loaded by path, as tests/test_vectors.py does).
for path in (ROOT, ROOT / "tests", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from ingest_vectors import ingest_doc  # noqa: E402
from negative_vectors import negative_doc  # noqa: E402
from network_vectors import network_doc  # noqa: E402
from positive_vectors import (  # noqa: E402
    backup_doc,
    cbor_doc,
    content_doc,
    entries_doc,
    keyfile_doc,
    keys_doc,
    logfile_doc,
)
from vector_decoders import rejection  # noqa: E402
from vector_helpers import build_feeds  # noqa: E402
from visit_vectors import visits_doc  # noqa: E402

from lndesk import errors  # noqa: E402
from lndesk.p2p.wire import StreamGone  # noqa: E402

OUT = HERE


def write(name: str, doc: dict[str, Any]) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    (OUT / name).write_text(text, encoding="utf-8", newline="\n")


def with_reasons(vectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The negative vectors, each with the message lndesk rejects its input with as
    ``reason`` (after ``error``), checked to be of the vector's error class."""

    async def reasons() -> list[str]:
        out = []
        for vector in vectors:
            exc = await rejection(vector)
            expected = StreamGone if vector["error"] == "StreamGone" else None
            expected = expected or getattr(errors, vector["error"])
            assert isinstance(exc, expected), (vector["name"], exc)
            out.append(str(exc))
        return out

    out = []
    for vector, reason in zip(vectors, trio.run(reasons), strict=True):
        doc: dict[str, Any] = {}
        for key, value in vector.items():
            if key != "reason":
                doc[key] = value
            if key == "error":
                doc["reason"] = reason
        out.append(doc)
    return out


def documents() -> dict[str, dict[str, Any]]:
    """Every vector file's document, by file name."""
    ada, ben = build_feeds()
    docs = {
        "keys.json": keys_doc(),
        "cbor.json": cbor_doc(),
        "entries.json": entries_doc(ada, ben),
        "content.json": content_doc(),
        "keyfile.json": keyfile_doc(),
        "logfile.json": logfile_doc(ada, ben),
        "backup.json": backup_doc(ada),
        "negative.json": negative_doc(ada, ben),
        "ingest.json": ingest_doc(ada, ben),
        "network.json": network_doc(ada, ben),
    }
    negative, network = docs["negative.json"], docs["network.json"]
    negative["vectors"] = with_reasons(negative["vectors"])
    network["negative"] = with_reasons(network["negative"])
    network["inbox"]["negative"] = with_reasons(network["inbox"]["negative"])
    network["forks"]["negative"] = with_reasons(network["forks"]["negative"])
    network["threads"]["negative"] = with_reasons(network["threads"]["negative"])
    network["visits"] = visits_doc()
    network["visits"]["negative"] = with_reasons(network["visits"]["negative"])
    return docs


def main() -> None:
    for name, doc in documents().items():
        write(name, doc)


if __name__ == "__main__":
    main()
