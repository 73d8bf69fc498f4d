"""Validate and normalise Vehicle Identification Numbers (VINs).

Rules applied, in this order, each failure with its own reason string:

1. The VIN must be a string; surrounding whitespace is stripped and letters are upper-cased
   (people paste VINs from registration papers in any case, with stray spaces).
2. It must be exactly 17 characters (ISO 3779; the 1981+ format).
3. Only digits 0-9 and letters A-Z are allowed, never I, O or Q (ISO 3779 bans them because
   they are easily confused with 1 and 0).
4. The check digit at position 9 must match the ISO 3779 / FMVSS 115 (49 CFR 565) computation,
   but only for North American VINs: those whose first character (the WMI region) is 1-5
   (United States, Canada, Mexico). The check digit is mandatory there by law; elsewhere
   (e.g. European VINs such as ``WVWZZZ1JZXW000001``) position 9 is manufacturer-defined, so
   enforcing it would reject genuine vehicles.

Check digit computation: each character is transliterated to a number (digits are themselves;
letters per ``TRANSLITERATION``), multiplied by the weight for its position (``WEIGHTS``), the
products are summed, and the sum modulo 11 is the check digit, with a remainder of 10 written
as ``X``.
"""

from __future__ import annotations

VIN_LENGTH = 17  # ISO 3779 fixed length for all vehicles built since 1981

# Position 9 (1-based) carries the check digit, so index 8.
CHECK_DIGIT_INDEX = 8

# ISO 3779 excludes these because they read like 1 and 0.
FORBIDDEN_LETTERS = frozenset("IOQ")

ALLOWED_CHARACTERS = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")

# First characters of WMIs assigned to North America (US 1, 4, 5; Canada 2; Mexico 3),
# the only region where the check digit is legally required (FMVSS 115).
CHECK_DIGIT_REGIONS = frozenset("12345")

# FMVSS 115 letter values; the gaps are where I, O and Q would be.
TRANSLITERATION: dict[str, int] = {
    **{str(digit): digit for digit in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip

# FMVSS 115 position weights; position 9 weighs 0 because it is the check digit itself.
WEIGHTS: tuple[int, ...] = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

CHECK_DIGIT_MODULUS = 11  # FMVSS 115: remainder of the weighted sum divided by 11
TEN_AS_CHECK_DIGIT = "X"  # a remainder of 10 does not fit one digit, so it is written as X


class VinError(ValueError):
    """Raised by :func:`validate_vin`; ``reason`` is a sentence safe to show to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_vin(raw: str) -> str:
    """Strip surrounding whitespace and upper-case; does not validate."""
    return raw.strip().upper()


def requires_check_digit(vin: str) -> bool:
    """True when the (normalised) VIN belongs to a region where position 9 is a check digit."""
    return vin[:1] in CHECK_DIGIT_REGIONS


def compute_check_digit(vin: str) -> str:
    """Return the check digit a 17-character VIN of allowed characters should carry."""
    if len(vin) != VIN_LENGTH or not set(vin) <= ALLOWED_CHARACTERS:
        raise ValueError("check digit needs 17 allowed VIN characters")
    weighted_sum = sum(
        TRANSLITERATION[char] * weight for char, weight in zip(vin, WEIGHTS, strict=True)
    )
    remainder = weighted_sum % CHECK_DIGIT_MODULUS
    return TEN_AS_CHECK_DIGIT if remainder == 10 else str(remainder)


def vin_problem(raw: object) -> str | None:
    """Return why ``raw`` is not a valid VIN, or None if it is valid (after normalising).

    Accepts any object because it is meant to be called on untrusted JSON input.
    """
    if not isinstance(raw, str):
        return "VIN must be a string"
    vin = normalise_vin(raw)
    if not vin:
        return "VIN is empty"
    if len(vin) != VIN_LENGTH:
        return f"VIN must be {VIN_LENGTH} characters long, got {len(vin)}"
    for position, char in enumerate(vin, start=1):
        if char in FORBIDDEN_LETTERS:
            return (
                f"VIN must not contain the letters I, O or Q (found {char!r} at position "
                f"{position}); they are easily confused with 1 and 0"
            )
        if char not in ALLOWED_CHARACTERS:
            return (
                f"VIN may contain only letters A-Z and digits 0-9 "
                f"(found {char!r} at position {position})"
            )
    if requires_check_digit(vin):
        expected = compute_check_digit(vin)
        actual = vin[CHECK_DIGIT_INDEX]
        if actual != expected:
            return (
                f"check digit at position {CHECK_DIGIT_INDEX + 1} is {actual!r} but should be "
                f"{expected!r}; the VIN is probably mistyped"
            )
    return None


def validate_vin(raw: object) -> str:
    """Return the normalised VIN, or raise :class:`VinError` explaining what is wrong."""
    problem = vin_problem(raw)
    if problem is not None:
        raise VinError(problem)
    # vin_problem already refused non-strings; the check repeats it only to narrow the type.
    if not isinstance(raw, str):  # pragma: no cover
        raise VinError("VIN must be a string")
    return normalise_vin(raw)


def is_valid_vin(raw: object) -> bool:
    """Convenience predicate over :func:`vin_problem`."""
    return vin_problem(raw) is None
