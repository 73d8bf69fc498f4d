"""Finding users by email or name: the keys stored on each user and the terms a search asks for.

Firestore has no full-text search, and a range query (``>= prefix`` and ``< prefix +
'\\uf8ff'``) matches only the *start* of one field and must be ordered by it. So each user
document keeps one array, :data:`SEARCH_FIELD`, of every prefix a search may type:

* of the normalised email address (``ada.lovelace@example.com``: ``a``, ``ad``, …);
* of the normalised full name *from each word on* (``Ada King Lovelace``: ``ada…``,
  ``king lovelace…``, ``lovelace…``), so a surname or a middle name finds the person too.

A search is then one ``array_contains_any`` query on that field (the query's email reading
and name reading, :func:`query_terms`), combined with the role/status equality filters and
ordered newest first like the plain listing, so it pages with the same cursor. Matching is
exact on the normalised text — case, accents and punctuation are ignored; nothing fuzzy.

Bounds, so one document's index entries stay small and fixed: a prefix is at most
:data:`MAX_PREFIX_CHARS` characters and only the first :data:`MAX_NAME_WORDS` words start
prefixes (a typical account holds about 60 keys; the worst case is bounded by
``MAX_PREFIX_CHARS * (MAX_NAME_WORDS + 1)``). A longer search is asked for by its first
``MAX_PREFIX_CHARS`` characters and the answers are checked against the whole text
(:func:`matches`), so no answer is ever a false match.

Written by the auth function wherever an email or name is stored, and backfilled by
migrations/010_user_search_keys.py; pure (no Firestore) so both share it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# The users' field holding the search keys (never returned by the API).
SEARCH_FIELD: Final = "search_prefixes"
# Longer searches are narrowed by their first 32 characters, then checked in full.
MAX_PREFIX_CHARS: Final = 32
# Names rarely have more; words after the sixth still match as part of an earlier word's run.
MAX_NAME_WORDS: Final = 6

_NOT_WORD = re.compile(r"[^\w]+|_+")


def normalise_name(text: str | None) -> str:
    """Lowercase, accents removed, punctuation as spaces, runs of spaces as one."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", bare.casefold()).split())


def normalise_email(text: str | None) -> str:
    """An address as accounts store it (identity.accounts.normalise_email): trimmed, lowercase."""
    return (text or "").strip().lower()


def _prefixes(text: str) -> set[str]:
    head = text[:MAX_PREFIX_CHARS]
    # A prefix ending in a space is the shorter one with it, which a search never sends.
    return {head[:end] for end in range(1, len(head) + 1) if not head[end - 1].isspace()}


def _name_runs(full_name: str | None) -> list[str]:
    """The normalised name from each of its first words on: "king lovelace", "lovelace"."""
    words = normalise_name(full_name).split()
    return [" ".join(words[start:]) for start in range(min(len(words), MAX_NAME_WORDS))]


def search_prefixes(email: str | None, full_name: str | None) -> list[str]:
    """The keys stored in :data:`SEARCH_FIELD` for a user with this email and name."""
    keys = _prefixes(normalise_email(email))
    for run in _name_runs(full_name):
        keys |= _prefixes(run)
    return sorted(keys)


def query_terms(text: str) -> list[str]:
    """The values an ``array_contains_any`` search asks for: the email and name readings.

    Empty when the text has nothing to search for (only spaces).
    """
    readings = {normalise_email(text)[:MAX_PREFIX_CHARS], normalise_name(text)[:MAX_PREFIX_CHARS]}
    return sorted(reading.rstrip() for reading in readings if reading.strip())


def matches(text: str, email: str | None, full_name: str | None) -> bool:
    """True when the email or a name run starts with a reading of the search ``text``.

    The exact rule; the stored keys make Firestore find a superset of it (a long search is
    asked for by its first :data:`MAX_PREFIX_CHARS` characters), which this then narrows.
    """
    readings = [reading for reading in (normalise_email(text), normalise_name(text)) if reading]
    stored = [normalise_email(email), *_name_runs(full_name)]
    return any(value.startswith(reading) for reading in readings for value in stored if value)
