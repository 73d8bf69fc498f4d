"""Password policy for new passwords (NIST SP 800-63B §5.1.1.2): length, not common, not you.

No composition rules (NIST advises against them: they push people to ``Password1!``).
Instead a new password must be 12 to 128 characters and must not be, or be built on, a
commonly used password, a trivially guessable pattern, or the user's own email name.
The list is bundled (``common_passwords.txt``) and read once per instance.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from pathlib import Path

from shared.errors import ValidationFailed

# 12 characters: NIST's 8 is a floor; with no composition rules, length is what buys entropy.
MIN_LENGTH = 12
# 128 characters: long enough for any passphrase or manager, short enough to bound work.
MAX_LENGTH = 128
# Shorter email names ("al", "jo") occur in too many honest passwords to be refused.
MIN_EMAIL_NAME_LENGTH = 3
# A password whose distinct characters are this few is a pattern, whatever its length.
MIN_DISTINCT_CHARACTERS = 4

LIST_PATH = Path(__file__).with_name("common_passwords.txt")

_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "9": "g",
        "8": "b",
    }
)
_TRAILING_JUNK = re.compile(r"[\d\W_]+$")
_LEADING_JUNK = re.compile(r"^[\d\W_]+")
# Runs along these (forwards, backwards, wrapping) are sequences: rows, the whole letter
# block, the column walk people type ("1qaz2wsx…") and the alphabet.
_KEYBOARD_ROWS = (
    "1234567890",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "abcdefghijklmnopqrstuvwxyz",
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower case."""
    words = set()
    for line in LIST_PATH.read_text(encoding="utf-8").splitlines():
        word = line.strip().lower()
        if word and not word.startswith("#"):
            words.add(word)
    return frozenset(words)


def _is_repetition(text: str) -> bool:
    """``aaaa…``, ``abcabc…``, ``12341234…``: a short unit repeated."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return True
    return False


def _is_sequence(text: str) -> bool:
    """A run along the alphabet, the digits or a keyboard row, either way, possibly wrapping."""
    if len(text) < 3:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if steps in ({1}, {-1}):
        return True
    for row in _KEYBOARD_ROWS:
        cycle = row * (len(text) // len(row) + 2)
        if text in cycle or text in cycle[::-1]:
            return True
    return False


def _candidates(password: str) -> set[str]:
    """The password and the words it is likely built on."""
    lowered = password.lower()
    forms = {lowered, lowered.translate(_LEET)}
    stripped = set()
    for form in forms:
        core = _LEADING_JUNK.sub("", _TRAILING_JUNK.sub("", form))
        if core:
            stripped.add(core)
    # Digits stripped from the raw form too, before leet undoes them ("p@ssw0rd2024").
    for form in list(forms):
        core = _TRAILING_JUNK.sub("", form)
        if core:
            stripped.add(core.translate(_LEET))
    return forms | stripped


def weakness(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is refused, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS or _is_repetition(lowered):
        return "The password is a repeated pattern; choose something less predictable."
    if _is_sequence(lowered):
        return "The password is a keyboard or alphabet sequence."
    common = common_passwords()
    for candidate in _candidates(password):
        if candidate in common or (_is_repetition(candidate) and len(candidate) < MIN_LENGTH):
            return "The password is too common; choose a less guessable one."
        # "passwordpassword2024", "qwertyqwerty": a common word repeated.
        for size in range(3, len(candidate) // 2 + 1):
            unit = candidate[:size]
            if unit in common and _is_repetition(candidate[: len(candidate) // size * size]):
                return "The password is too common; choose a less guessable one."
    if email:
        name = email.split("@", 1)[0].lower()
        if len(name) >= MIN_EMAIL_NAME_LENGTH and name in lowered:
            return "The password must not contain your email name."
    return None


def ensure_acceptable(password: str, *, email: str | None = None, field: str = "password") -> None:
    """Raise 422 ``weak_password`` unless the password meets the policy."""
    reason = weakness(password, email=email)
    if reason is not None:
        raise ValidationFailed(
            reason,
            code="weak_password",
            details=[
                {"field": field, "location": "body", "message": reason, "type": "weak_password"}
            ],
        )
