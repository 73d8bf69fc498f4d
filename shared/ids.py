"""The one rule for every id that reaches a Firestore document path.

Firestore refuses (with an exception, hence a 500 if nobody checked) ids that contain
``/``, that are ``.`` or ``..``, that match ``__.*__`` (reserved) or that are too long; an
id with ``/`` in a place the code joins into a path could even name another collection's
document. Every id a caller can send — path parameters, the id inside a pagination cursor or
a suggestion id, ids in bodies and query strings, a token's ``sub`` and ``sid`` — passes
:func:`is_document_id` before it is used:

* letters, digits, ``_``, ``-`` and ``.`` only (what the platform mints: uuid4 hex ids,
  and alert ids such as ``<vehicle>_battery.resting_voltage``) — never ``/``;
* 1 to :data:`MAX_ID_LENGTH` characters, and never ``.`` or ``..`` alone;
* never ``__…__`` (Firestore reserves those names).

Where the id sits decides the answer, not the rule: a path id that fails is **404** (the
router does not match it: shared.http), a body or query id **422** (the ``DocumentId`` type
of shared.request_models), a token whose ``sub`` fails **401** (shared.auth.tokens).
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter

# uuid4 hex ids are 32 characters; 128 leaves room for readable ids (seeded demo data)
# while keeping hostile ids far below Firestore's 1,500-byte limit.
MAX_ID_LENGTH = 128
ID_CHARACTERS = r"[A-Za-z0-9_.-]"
# For werkzeug's router and pydantic patterns: the characters and the length, as a regex.
ID_REGEX = f"{ID_CHARACTERS}{{1,{MAX_ID_LENGTH}}}"
_ID = re.compile(ID_REGEX)


def is_reserved(value: str) -> bool:
    """Firestore reserves ids that start and end with two underscores."""
    return len(value) >= 4 and value.startswith("__") and value.endswith("__")


def is_document_id(value: object) -> bool:
    """True when ``value`` may be used as a document id anywhere on the platform."""
    return (
        isinstance(value, str)
        and _ID.fullmatch(value) is not None
        and value not in (".", "..")
        and not is_reserved(value)
    )


def check_document_id(value: str) -> str:
    """``value`` when it is a document id, else ``ValueError`` saying the rule (a 422)."""
    if not is_document_id(value):
        raise ValueError(
            f"not a valid id: 1 to {MAX_ID_LENGTH} letters, digits, '_', '-' or '.', "
            "not '.' or '..', and not of the reserved form __name__"
        )
    return value


# The whole rule as one regex, for the router: it must refuse reserved ids in the pattern
# itself, because werkzeug decides "405 method not allowed" from patterns alone.
_WHOLE = f"(?!{ID_CHARACTERS})"  # the end of the path segment
_NOT_RESERVED = rf"(?!__{ID_CHARACTERS}*__{_WHOLE})(?!\.\.?{_WHOLE})"
PATH_ID_REGEX = _NOT_RESERVED + ID_REGEX


class DocumentIdConverter(BaseConverter):
    """Every ``<name>`` path parameter: the rule above, or the route does not match (404)."""

    regex = PATH_ID_REGEX


class OpaqueTokenConverter(BaseConverter):
    """``<opaque:name>``: a token its service decodes and checks itself (a suggestion id)."""

    regex = r"[A-Za-z0-9_-]{1,512}"


# The router's converters (shared.http): plain ``<name>`` is a document id.
PATH_CONVERTERS: dict[str, type[BaseConverter]] = {
    "default": DocumentIdConverter,
    "opaque": OpaqueTokenConverter,
}
