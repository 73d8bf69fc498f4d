"""VIN validation: format rules, normalisation and the North American check digit."""

import pytest

from vehicle.vin import (
    VinError,
    compute_check_digit,
    is_valid_vin,
    normalise_vin,
    requires_check_digit,
    validate_vin,
    vin_problem,
)

REAL_NORTH_AMERICAN_VINS = ["1HGCM82633A004352", "1M8GDM9AXKP042788", "11111111111111111"]
EUROPEAN_VIN = "WVWZZZ1JZXW000001"


@pytest.mark.parametrize("vin", REAL_NORTH_AMERICAN_VINS)
def test_real_north_american_vins_are_valid(vin: str) -> None:
    assert vin_problem(vin) is None
    assert validate_vin(vin) == vin


def test_check_digit_remainder_ten_is_written_as_x() -> None:
    assert compute_check_digit("1M8GDM9AXKP042788") == "X"


def test_check_digit_of_all_ones_is_one() -> None:
    # 1 x (sum of weights 89) = 89; 89 mod 11 = 1
    assert compute_check_digit("11111111111111111") == "1"


def test_european_vin_has_no_check_digit_requirement() -> None:
    assert not requires_check_digit(EUROPEAN_VIN)
    # position 9 is 'Z' here, which would never be a valid check digit
    assert vin_problem(EUROPEAN_VIN) is None


def test_wrong_check_digit_is_rejected_with_expected_digit() -> None:
    mistyped = "1HGCM82643A004352"  # position 9 changed from 3 to 4
    reason = vin_problem(mistyped)
    assert reason is not None
    assert "position 9" in reason
    assert "'3'" in reason


def test_single_typo_elsewhere_breaks_north_american_check_digit() -> None:
    assert vin_problem("1HGCM82633A004353") is not None


@pytest.mark.parametrize("first", list("12345"))
def test_every_north_american_region_requires_check_digit(first: str) -> None:
    assert requires_check_digit(first + "1111111111111111")


@pytest.mark.parametrize("first", ["6", "9", "J", "W", "S"])
def test_regions_outside_north_america_skip_check_digit(first: str) -> None:
    vin = first + "HGCM82643A004352"  # position 9 deliberately not the computed digit
    assert compute_check_digit(vin) != vin[8]
    assert vin_problem(vin) is None


def test_vin_is_normalised_by_stripping_and_uppercasing() -> None:
    assert normalise_vin("  1hgcm82633a004352\n") == "1HGCM82633A004352"
    assert validate_vin(" 1hgcm82633a004352 ") == "1HGCM82633A004352"


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_letters_i_o_q_are_refused(letter: str) -> None:
    vin = "WVWZZZ1JZXW00000" + letter
    reason = vin_problem(vin)
    assert reason is not None
    assert "I, O or Q" in reason
    assert "position 17" in reason


def test_lowercase_forbidden_letter_is_refused_after_normalising() -> None:
    assert vin_problem("wvwzzz1jzxw00000o") is not None


@pytest.mark.parametrize("vin", ["1HGCM82633A00435", "1HGCM82633A0043521"])
def test_wrong_length_is_refused_with_actual_length(vin: str) -> None:
    reason = vin_problem(vin)
    assert reason is not None
    assert f"got {len(vin)}" in reason


def test_punctuation_is_refused_with_position() -> None:
    reason = vin_problem("WVWZZZ1JZ-W000001")
    assert reason is not None
    assert "'-'" in reason
    assert "position 10" in reason


def test_inner_space_is_refused() -> None:
    assert vin_problem("WVWZZZ1JZ W000001") is not None


def test_empty_vin_is_refused() -> None:
    assert vin_problem("   ") == "VIN is empty"


@pytest.mark.parametrize("value", [None, 12345678901234567, ["1HGCM82633A004352"]])
def test_non_string_is_refused(value: object) -> None:
    assert vin_problem(value) == "VIN must be a string"
    assert not is_valid_vin(value)


def test_validate_vin_raises_vin_error_carrying_reason() -> None:
    with pytest.raises(VinError) as caught:
        validate_vin("1HGCM82643A004352")
    assert caught.value.reason == vin_problem("1HGCM82643A004352")
    assert isinstance(caught.value, ValueError)


def test_compute_check_digit_refuses_malformed_input() -> None:
    with pytest.raises(ValueError, match="17 allowed"):
        compute_check_digit("1HGCM8263")
