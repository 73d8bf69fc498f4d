"""The settings parse what pydantic would, with pydantic's messages (shared/config.py).

Settings left pydantic to keep it off every cold start; this holds the hand-written
validation to a pydantic model built from the same fields (types, defaults, bounds and the
two comma-separated fields), input by input: both accept with the same value, or both
refuse with the same message.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from shared.client_ip import parse_networks
from shared.config import Settings, SettingsError


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("cors_origins", "trusted_proxy_networks", mode="before", check_fields=False)
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxy_networks", check_fields=False)
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)
        return value


def _reference_model() -> type[BaseModel]:
    hints = typing.get_type_hints(Settings)
    definitions: dict[str, Any] = {}
    for spec in dataclasses.fields(Settings):
        bounds = {k: v for k, v in spec.metadata.items() if v is not None}
        definitions[spec.name] = (hints[spec.name], Field(default=spec.default, **bounds))
    model: type[BaseModel] = create_model("ReferenceSettings", __base__=_Base, **definitions)
    return model


REFERENCE = _reference_model()

# Per field kind: what an operator might type, good and bad.
INTEGERS = ["12", " 12 ", "+12", "1_2", "12.0", "12.5", "1e1", "0x10", "", "abc", "-1", "99999999"]
NUMBERS = ["1", " 2.5 ", "0.05", "1e1", "inf", "nan", "-0.5", "", "abc", "1_0", "100000"]
BOOLEANS = ["true", "False", "1", "0", "yes", "off", "On", "t", "maybe", "", "None", "2"]
TEXT = ["x", "", " spaced "]
LISTS = ["a, b", "", " , ", "151.101.0.0/16,::1/128", "151.101.0.0/16, not-a-cidr"]


def _inputs(name: str) -> list[str]:
    kind = typing.get_type_hints(Settings)[name]
    if typing.get_origin(kind) is typing.Literal:
        choices = list(typing.get_args(kind))
        return [*choices, choices[0].upper(), "", "other"]
    if kind in (int,):
        return INTEGERS
    if kind in (float,):
        return NUMBERS
    if kind in (bool | None,):
        return BOOLEANS
    if kind in (tuple[str, ...],):
        return LISTS
    return TEXT


CASES = [(spec.name, raw) for spec in dataclasses.fields(Settings) for raw in _inputs(spec.name)]


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[f"{n}={r!r}" for n, r in CASES])
def test_a_setting_parses_as_pydantic_parses_it(name: str, raw: str) -> None:
    try:
        expected = getattr(REFERENCE.model_validate({name: raw}), name)
        expected_error = None
    except ValidationError as exc:
        expected, expected_error = None, exc.errors()[0]["msg"]
    try:
        actual = getattr(Settings.model_validate({name: raw}), name)
        actual_error = None
    except SettingsError as exc:
        actual, actual_error = None, exc.problems[0][1]
    assert actual_error == expected_error
    if expected_error is None:
        assert actual == expected or (actual != actual and expected != expected)  # NaN
        assert type(actual) is type(expected)


def test_defaults_are_the_reference_defaults() -> None:
    assert dataclasses.asdict(Settings()) == REFERENCE().model_dump()


def test_every_invalid_setting_is_reported_in_field_order() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.model_validate({"bcrypt_cost": "3", "environment": "prod"})
    assert caught.value.problems == [
        ("environment", "Input should be 'local', 'test' or 'production'"),
        ("bcrypt_cost", "Input should be greater than or equal to 4"),
    ]


def test_settings_stay_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().log_level = "DEBUG"  # type: ignore[misc]
