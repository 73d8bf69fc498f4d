"""Request bodies and query strings of the auth routes (unknown fields are a 422)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shared.auth.rbac import Role
from shared.request_models import BodyModel, DocumentId, PageQuery

# RFC 5321 caps a forward path at 256 octets, so an address is at most 254 characters.
MAX_EMAIL_LENGTH = 254
# A pragmatic shape check; deliverability is proven by verification mail, not by regex.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
# E.164 allows 15 digits; separators people type are tolerated.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,24}$")
# Bounds work per login request (bcrypt itself sees a fixed-size pre-hash); anything
# longer is simply a wrong password, answered 401 like any other.
MAX_LOGIN_PASSWORD_LENGTH = 16_384


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


def _phone(value: str | None) -> str | None:
    if value is not None and not _PHONE.match(value):
        raise ValueError("not a phone number (digits, optional +, spaces, dashes)")
    return value


Email = Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH), AfterValidator(_email)]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Phone = Annotated[str | None, AfterValidator(_phone)]
# The policy (12..128, not common) is checked by identity.password_policy with its own error
# code; this only bounds the size of what is parsed.
NewPassword = Annotated[str, StringConstraints(max_length=4096)]


class RegisterBody(BodyModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery staple",
                    "full_name": "Ada Lovelace",
                    "phone": "+44 20 7946 0000",
                }
            ]
        }
    )

    email: Email
    password: NewPassword
    full_name: FullName
    phone: Phone = None


class ConfirmEmailBody(BodyModel):
    """The code from the confirmation message: ``<user id>.<secret>``."""

    code: Annotated[str, StringConstraints(min_length=3, max_length=256)]


class LoginBody(BodyModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "customer@demo.pmi.dev", "password": "pmi-demo-garage-2026"}]
        }
    )

    email: Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH)]
    password: Annotated[str, StringConstraints(max_length=MAX_LOGIN_PASSWORD_LENGTH)]


class RefreshBody(BodyModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ProfilePatch(BodyModel):
    """Only these two fields; ``role`` or anything else is refused by extra="forbid"."""

    full_name: FullName | None = None
    phone: Phone = None

    @model_validator(mode="after")
    def _not_empty(self) -> ProfilePatch:
        if not self.model_fields_set:
            raise ValueError("send full_name and/or phone")
        if "full_name" in self.model_fields_set and self.full_name is None:
            raise ValueError("full_name cannot be null")
        return self


class PasswordChangeBody(BodyModel):
    current_password: Annotated[str, StringConstraints(max_length=MAX_LOGIN_PASSWORD_LENGTH)]
    new_password: NewPassword


class AdminUserPatch(BodyModel):
    role: Role | None = None
    is_active: bool | None = None
    service_center_id: DocumentId | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> AdminUserPatch:
        if not self.model_fields_set:
            raise ValueError("send role, is_active and/or service_center_id")
        if "role" in self.model_fields_set and self.role is None:
            raise ValueError("role cannot be null")
        if "is_active" in self.model_fields_set and self.is_active is None:
            raise ValueError("is_active cannot be null")
        return self


class UserListQuery(PageQuery):
    role: Role | None = None
    active: bool | None = None
    # Email or name, from its start (any word of the name): shared/user_search.py.
    q: str | None = Field(default=None, min_length=1, max_length=MAX_EMAIL_LENGTH)


# An event name as shared.audit writers spell them ("role_changed", "vin_claim_opened").
AUDIT_EVENT_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class AuditListQuery(PageQuery):
    """``GET /audit``: filters on top of cursor pagination, newest entry first."""

    subject_id: DocumentId | None = None
    actor_id: DocumentId | None = None
    event: str | None = Field(default=None, pattern=AUDIT_EVENT_PATTERN)
    # Instants with an offset (ISO 8601); ``from`` inclusive, ``to`` exclusive.
    from_at: AwareDatetime | None = Field(default=None, alias="from")
    to_at: AwareDatetime | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _range_in_order(self) -> AuditListQuery:
        if self.from_at and self.to_at and self.from_at >= self.to_at:
            raise ValueError("'from' must be before 'to'")
        return self
