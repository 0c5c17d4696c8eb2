"""People's names as lndesk shows them: a peer's chosen name, cleaned, or a nickname.

A profile name is written by whoever holds the key, so it is hostile text. Before it is
shown anywhere it goes through :func:`clean_name`, which

* applies NFKC (full-width and other compatibility forms become their plain letters, so
  full-width brackets around "you" are caught as ``(you)``), except to the ellipsis "…",
  which the cut writes;
* removes format characters (Unicode category Cf: the bidi overrides and isolates
  RLO/LRO/RLE/LRE/PDF/RLI/LRI/FSI/PDI, zero-width spaces and joiners, the BOM, ...),
  private-use, surrogate and unassigned code points, and invisible fillers that are
  letters by category (Hangul fillers, the braille blank, the combining grapheme joiner);
* turns control characters and every kind of space or line break into one plain space,
  and trims the ends;
* keeps at most :data:`MAX_MARKS` combining marks on a letter (no "Zalgo" towers that
  paint over the lines around them);
* removes lndesk's own labels (:data:`RESERVED`, such as "(you)") so a name cannot
  pretend to be the reader or borrow a mark the app draws (also when written with
  letters drawn like theirs: Cyrillic or Greek, capital or not, small capitals, a
  capital I read as an i or as an l), what reads as the
  attribution of a revealed pseudonym (a bracket opening on "as ", as in "Ann (as
  curious-fox)", up to its closing bracket), so a name cannot pass for someone's
  revealed pseudonym, and text that looks like a key (``lnd1`` and base32 letters),
  which lndesk shows beside names, also when written with look-alikes of its letters
  (Cyrillic, Greek, a capital I for the l, a zero for an o) or with combining marks on
  them;
* caps the result at :data:`MAX_NAME_CHARS` characters (never inside a letter's marks);
* repeats all this until a pass changes nothing, so a cleaned name cleaned again (with
  the same limit or a longer one) is unchanged: a place that cleans a stored name once
  and one that cleans what was already cleaned show the same text.

What is left may be empty; :func:`display_name` then shows the key's short form. The
same functions are used by every front end (desktop views, the command line) so a
person reads the same everywhere. Look-alike letters cannot be cleaned away (a Cyrillic
"a" is a fine letter in a Russian name; only in what reads as a key or a label do they
count as the letters they look like); the key's fingerprint drawn beside every name
tells two people apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lndesk.keytext import short_key

MAX_NAME_CHARS = 64
"""The longest name shown, in characters (combining marks included)."""
MAX_MARKS = 2
"""Combining marks kept on one letter (Vietnamese needs two; towers need hundreds)."""
MAX_RAW_CHARS = 1024
"""Only this much of a raw name is examined (a profile name may be kilobytes long)."""
MAX_NICKNAME_CHARS = 64
"""The longest nickname a user may give someone."""
MAX_PASSES = 8
"""Cleaning passes before a name that still changes is given up as empty."""

RESERVED = ("you", "me", "nickname", "not followed", "following", "blocked", "muted")
"""Words lndesk puts in brackets beside names: a name may not carry them in brackets."""

_INVISIBLE = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u2800"  # braille pattern blank
    "\u17b4\u17b5"  # Khmer inherent vowels (invisible)
    "\u180e"  # Mongolian vowel separator
)
_DROP_CATEGORIES = frozenset({"Cf", "Co", "Cs", "Cn"})
_SPACE_CATEGORIES = frozenset({"Cc", "Zs", "Zl", "Zp"})
_MARK_CATEGORIES = frozenset({"Mn", "Me", "Mc"})
_ELLIPSIS = "\u2026"
_FOLD = str.maketrans(
    {
        # look-alikes of the letters of the reserved words, so Cyrillic "(you)" is caught too
        "\u0443": "y",  # Cyrillic u
        "\u04af": "y",  # Cyrillic straight u
        "\u03b3": "y",  # Greek gamma
        "\u043e": "o",  # Cyrillic o
        "\u03bf": "o",  # Greek omicron
        "\u0585": "o",  # Armenian oh
        "\u0030": "o",  # digit zero
        "\u03c5": "u",  # Greek upsilon
        "\u057d": "u",  # Armenian seh
        "\u0435": "e",  # Cyrillic ie
        "\u043c": "m",  # Cyrillic em
        "\u0430": "a",  # Cyrillic a
        "\u0440": "p",  # Cyrillic er
        "\u0441": "c",  # Cyrillic es
        "\u0456": "i",  # Cyrillic i
        "\u0131": "i",  # dotless i
        "\u0455": "s",  # Cyrillic dze
        "\u043d": "h",  # Cyrillic en (lower case looks like n in some fonts)
        "\u0501": "d",  # Cyrillic komi de
        "\u0578": "n",  # Armenian vo
        "\u04bb": "h",  # Cyrillic shha
        "\u0432": "b",  # Cyrillic ve
        "\u0442": "t",  # Cyrillic te
        "\u0448": "w",  # Cyrillic sha
        "\u1d21": "w",  # small capital w
        "\u0433": "r",  # Cyrillic ghe
        "\u0138": "k",  # kra
        "\u043a": "k",  # Cyrillic ka
        "\u0261": "g",  # script g
        "\u0406": "l",  # Cyrillic capital i
        "\u04cf": "l",  # Cyrillic palochka
        "\u0031": "l",  # digit one
        "\u007c": "l",  # vertical bar
        "\u03b1": "a",  # Greek alpha
        "\u0251": "a",  # Latin alpha
        "\u03b9": "i",  # Greek iota
        "\u0269": "i",  # Latin iota
        "\u03ba": "k",  # Greek kappa
        # small capitals, which read as a word in capitals: small capital y, o, u as "(YOU)"
        "\u1d00": "a",
        "\u0299": "b",
        "\u1d04": "c",
        "\u1d05": "d",
        "\u1d07": "e",
        "\ua730": "f",
        "\u0262": "g",
        "\u029c": "h",
        "\u026a": "i",
        "\u1d0b": "k",
        "\u029f": "l",
        "\u1d0d": "m",
        "\u0274": "n",
        "\u1d0f": "o",
        "\u1d18": "p",
        "\u0280": "r",
        "\ua731": "s",
        "\u1d1b": "t",
        "\u1d1c": "u",
        "\u028f": "y",
        "\u1d22": "z",
    }
)
_CAPITALS = str.maketrans(
    {
        # Greek capitals like Latin ones whose lower case looks like no Latin letter,
        # taken before case folding: capital upsilon and omicron in "(YOU)" read as it
        "\u0391": "a",  # alpha
        "\u0392": "b",  # beta
        "\u0395": "e",  # epsilon
        "\u0396": "z",  # zeta
        "\u0397": "h",  # eta
        "\u039a": "k",  # kappa
        "\u039c": "m",  # mu
        "\u039d": "n",  # nu
        "\u039f": "o",  # omicron
        "\u03a1": "p",  # rho
        "\u03a4": "t",  # tau
        "\u03a5": "y",  # upsilon
        "\u03a7": "x",  # chi
    }
)
_CAPITAL_I = "I\u0399\u0406\u04c0\u0196\u2c92\ua4f2\u16c1"
"""Capitals drawn as one stroke, read as an i or as an l (Latin, Greek, Cyrillic, the
palochka, Latin and Coptic iota, Lisu i, runic isaz): "(foIIowing)" reads as
"(following)", "(NIckname)" as "(Nickname)"."""
_AS_I = str.maketrans(dict.fromkeys(_CAPITAL_I, "i"))
_AS_L = str.maketrans(dict.fromkeys(_CAPITAL_I, "l"))


def _fold(text: str) -> str:
    """``text`` compared loosely: case and some look-alike letters folded, marks removed
    (a capital drawn as one stroke taken as an i; :func:`_reserved` also takes it as an
    l)."""
    lower = text.translate(_AS_I).translate(_CAPITALS).casefold()
    decomposed = unicodedata.normalize("NFKD", lower.translate(_FOLD))
    plain = "".join(c for c in decomposed if unicodedata.category(c) not in _MARK_CATEGORIES)
    return " ".join(plain.translate(_FOLD).split())


_RESERVED_FOLDED = frozenset(_fold(word) for word in RESERVED)
_KEY_CAPITALS = str.maketrans(
    {
        # capitals that read as the lower-case l of a key (before case folding) ...
        "I": "l",
        "\u0399": "l",  # Greek capital iota
        "\u0406": "l",  # Cyrillic capital byelorussian-ukrainian i
        "\u04c0": "l",  # Cyrillic palochka
        "\u0196": "l",  # Latin capital iota
        "\u2c92": "l",  # Coptic capital iota
        "\ua4f2": "l",  # Lisu letter i
        "\u16c1": "l",  # runic isaz (one stroke)
        # ... and capitals like those of a key written in upper case, whose lower case
        # looks like no letter of it
        "\u0392": "b",  # Greek capital beta
        "\u0412": "b",  # Cyrillic capital ve
        "\u0395": "e",  # Greek capital epsilon
        "\u0397": "h",  # Greek capital eta
        "\u041d": "h",  # Cyrillic capital en
        "\u039a": "k",  # Greek capital kappa
        "\u041a": "k",  # Cyrillic capital ka
        "\u039c": "m",  # Greek capital mu
        "\u041c": "m",  # Cyrillic capital em
        "\u039d": "n",  # Greek capital nu
        "\u03a4": "t",  # Greek capital tau
        "\u0422": "t",  # Cyrillic capital te
        "\u03a5": "y",  # Greek capital upsilon
        "\u0396": "z",  # Greek capital zeta
    }
)
_KEY_LOOK_ALIKES = str.maketrans(
    {
        # look-alikes of what a key is written with: lnd1, then a-z and 2-7
        "\u0430": "a",  # Cyrillic a
        "\u03b1": "a",  # Greek alpha
        "\u0251": "a",  # Latin alpha
        "\u044c": "b",  # Cyrillic soft sign
        "\u0441": "c",  # Cyrillic es
        "\u03f2": "c",  # Greek lunate sigma
        "\u1d04": "c",  # small capital c
        "\u0501": "d",  # Cyrillic komi de
        "\u0435": "e",  # Cyrillic ie
        "\u0261": "g",  # script g
        "\u04bb": "h",  # Cyrillic shha
        "\u0456": "i",  # Cyrillic i
        "\u03b9": "i",  # Greek iota
        "\u0131": "i",  # dotless i
        "\u0269": "i",  # Latin iota
        "\u0458": "j",  # Cyrillic je
        "\u03f3": "j",  # Greek yot
        "\u04cf": "l",  # Cyrillic small palochka
        "\u0578": "n",  # Armenian vo
        "\u043e": "o",  # Cyrillic o
        "\u03bf": "o",  # Greek omicron
        "\u0585": "o",  # Armenian oh
        "\u1d0f": "o",  # small capital o
        "0": "o",  # not in a key, but reads as its o
        "\u0440": "p",  # Cyrillic er
        "\u03c1": "p",  # Greek rho
        "\u051b": "q",  # Cyrillic qa
        "\u0433": "r",  # Cyrillic ghe
        "\u0455": "s",  # Cyrillic dze
        "\u03c5": "u",  # Greek upsilon
        "\u057d": "u",  # Armenian seh
        "\u1d1c": "u",  # small capital u
        "\u03bd": "v",  # Greek nu
        "\u0475": "v",  # Cyrillic izhitsa
        "\u1d20": "v",  # small capital v
        "\u051d": "w",  # Cyrillic we
        "\u0461": "w",  # Cyrillic omega
        "\u1d21": "w",  # small capital w
        "\u0445": "x",  # Cyrillic ha
        "\u03c7": "x",  # Greek chi
        "\u0443": "y",  # Cyrillic u
        "\u03b3": "y",  # Greek gamma
        "\u04af": "y",  # Cyrillic straight u
        "\u1d22": "z",  # small capital z
        "\u0437": "3",  # Cyrillic ze
        "\u0431": "6",  # Cyrillic be
        "|": "1",
        "\u01c0": "1",  # dental click
        "\u2223": "1",  # divides
        "\u0661": "1",  # Arabic-Indic one
        "\u06f1": "1",  # extended Arabic-Indic one
    }
)
_KEY_LIKE = re.compile(r"[l1]nd1[a-z1-7]{4,}(?:\.\.\.|…)?")
"""Text that reads as a key (or a short key with its ellipsis), once folded by
:func:`_key_skeleton`: only lndesk shows keys."""


def _is_opening(char: str) -> bool:
    return unicodedata.category(char) in ("Ps", "Pi") or char in "<[{"


def _is_closing(char: str) -> bool:
    return unicodedata.category(char) in ("Pe", "Pf") or char in ">]}"


def _is_bracket(char: str) -> bool:
    return _is_opening(char) or _is_closing(char)


def _without_reserved(name: str) -> str:
    """``name`` without bracketed reserved words such as "(you)" or "[ Not followed ]",
    without the empty brackets that removing "(you)" from "((you))" leaves, and without
    what reads as a revealed pseudonym's attribution: a bracket opening on "as " and
    what follows it up to its closing bracket (or the end)."""
    out: list[str] = []
    i = 0
    while i < len(name):
        char = name[i]
        if _is_bracket(char):
            close = _closing(name, i + 1)
            if _is_opening(char) and _attribution(name, i):
                i = len(name) if close is None else close + 1
                continue
            if close is not None and _reserved(name, i, close):
                i = close + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _attribution(name: str, start: int) -> bool:
    """Whether the bracket at ``start`` opens what lndesk writes after a revealed
    pseudonym's owner, "(as curious-fox)" (:func:`lndesk.pseudonyms.attributed_name`)."""
    return _fold(name[start + 1 : start + 8] + "x").startswith("as ")


def _reserved(name: str, start: int, end: int) -> bool:
    """Whether the brackets at ``start`` and ``end`` hold a reserved word or nothing."""
    inner = _fold(name[start + 1 : end])
    if inner:
        as_l = _fold(name[start + 1 : end].translate(_AS_L))
        return inner in _RESERVED_FOLDED or as_l in _RESERVED_FOLDED
    return _is_opening(name[start]) and _is_closing(name[end])


def _closing(name: str, start: int) -> int | None:
    """The index of the next bracket at or after ``start`` (None: there is none)."""
    for j in range(start, min(len(name), start + 40)):
        if _is_bracket(name[j]):
            return j
    return None


def _normalized(text: str) -> str:
    """``text`` in NFKC, except that the ellipsis "…" stays one character: the cut writes
    it (:func:`_capped`), and a cleaned name cleaned again must keep it."""
    return _ELLIPSIS.join(unicodedata.normalize("NFKC", part) for part in text.split(_ELLIPSIS))


def _characters(raw: str) -> str:
    """NFKC, invisible and format characters dropped, spaces and controls made spaces,
    combining marks capped."""
    out: list[str] = []
    marks = 0
    for original in _normalized(raw[:MAX_RAW_CHARS]):
        category = unicodedata.category(original)
        if category in _DROP_CATEGORIES or original in _INVISIBLE:
            continue
        char = original
        if category in _SPACE_CATEGORIES:
            char, category = " ", "Zs"
        if category in _MARK_CATEGORIES:
            if not out or out[-1] == " " or marks >= MAX_MARKS:
                continue
            marks += 1
        else:
            marks = 0
        out.append(char)
    return " ".join("".join(out).split())


def _capped(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` characters, never between a letter and its marks."""
    if len(name) <= limit:
        return name
    end = limit - 1
    while end > 0 and unicodedata.category(name[end]) in _MARK_CATEGORIES:
        end -= 1
    return name[:end].rstrip() + _ELLIPSIS


def _key_skeleton(text: str) -> tuple[str, list[int]]:
    """``text`` as a reader takes it for a key: case folded (capitals that read as l made
    l), look-alikes of a key's characters made those characters, combining marks dropped;
    and for each character of the skeleton, the index in ``text`` of the one it comes from."""
    skeleton: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        folded = char.translate(_KEY_CAPITALS).casefold()
        for part in unicodedata.normalize("NFD", folded).translate(_KEY_LOOK_ALIKES):
            if unicodedata.category(part) not in _MARK_CATEGORIES:
                skeleton.append(part)
                where.append(index)
    return "".join(skeleton), where


def _without_keys(text: str) -> str:
    """``text`` without what reads as a key, however it is written: each stretch whose
    skeleton (:func:`_key_skeleton`) matches :data:`_KEY_LIKE` goes, with the marks on its
    last letter."""
    skeleton, where = _key_skeleton(text)
    kept: list[str] = []
    start = 0
    for match in _KEY_LIKE.finditer(skeleton):
        end = where[match.end() - 1] + 1
        while end < len(text) and unicodedata.category(text[end]) in _MARK_CATEGORIES:
            end += 1
        kept.append(text[start : where[match.start()]])
        start = end
    kept.append(text[start:])
    return "".join(kept)


def _cleaned_once(name: str, limit: int) -> str:
    """One pass of the cleaning: characters, labels and keys, length."""
    unlabelled = " ".join(_without_keys(_without_reserved(_characters(name))).split())
    return _capped(unlabelled, limit)


@lru_cache(maxsize=4096)
def clean_name(raw: str | None, limit: int = MAX_NAME_CHARS) -> str:
    """A peer's name made safe to show (see the module's description); may be empty.

    The passes are repeated until one changes nothing, so a cleaned name is its own
    cleaning: what one pass leaves (marks left at a name's start or piled on one letter
    once a label between them is removed, "((you))" leaving "(you)", letters that
    compose once a format character between them is gone) is cleaned by the next. A
    name still changing after :data:`MAX_PASSES` passes is nothing but tricks: empty."""
    if not raw:
        return ""
    name = raw
    for _ in range(MAX_PASSES):
        cleaned = _cleaned_once(name, limit)
        if cleaned == name:
            return name
        name = cleaned
    return ""


def display_name(name: str | None, key: bytes, hint: str | None = None) -> str:
    """What to call the owner of ``key``: their cleaned ``name``, else a cleaned ``hint``
    (the name a share link suggested), else the key's short form."""
    return clean_name(name) or clean_name(hint) or short_key(key)


def clean_nickname(raw: str) -> str:
    """A nickname as stored: cleaned like a name (the user types it, but it may be pasted
    from anywhere)."""
    return clean_name(raw, MAX_NICKNAME_CHARS)
