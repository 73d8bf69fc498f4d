"""Response models of the auth routes: what a client receives (pure; the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.auth.rbac import Role
from shared.responses import Page, ResponseModel


class User(ResponseModel):
    """An account as clients see it (never the password hash or session ids)."""

    id: str
    email: str
    full_name: str | None
    phone: str | None
    role: Role
    is_active: bool | None
    email_verified: bool
    service_center_id: str | None = Field(
        description="The center a service_center or mechanic account works for."
    )
    created_at: datetime | None
    updated_at: datetime | None
    last_login: datetime | None


class UserPage(Page[User]):
    """One page of users, newest first."""


class Tokens(ResponseModel):
    """A signed-in session: send ``access_token`` as ``Authorization: Bearer <token>``."""

    user: User
    access_token: str = Field(description="JWT for the Authorization header.")
    refresh_token: str = Field(description="Single use: POST it to /api/auth/refresh.")
    token_type: str = Field(examples=["bearer"])
    expires_in: int = Field(description="Seconds until access_token expires.")
    refresh_expires_in: int = Field(description="Seconds until refresh_token expires.")
    firebase_token: str | None = Field(
        default=None,
        description=(
            "Firebase custom token (role claims) for the mobile SDK's signInWithCustomToken; "
            "sent on sign-in, not on refresh."
        ),
    )


class RegistrationAccepted(ResponseModel):
    """The one answer to every well-formed registration, whether or not the address is new."""

    status: str = Field(examples=["confirmation_sent"])
    message: str


class AuditEntry(ResponseModel):
    """One audit-log entry: who did what to whose account, when, from where.

    No password, hash or token ever; emails only as a truncated hash (docs/auth.md).
    """

    id: str
    event: str = Field(examples=["role_changed"])
    at: datetime
    actor_id: str | None = Field(description="Who did it (null: the system).")
    subject_id: str | None = Field(description="Whose account the entry concerns.")
    request_id: str | None
    client_request_id: str | None = Field(description="The X-Request-ID the client sent.")
    ip: str | None = Field(description="The client's IP address.")
    details: dict[str, Any] = Field(description="Event-specific fields (docs/auth.md).")


class PersonSummary(ResponseModel):
    """A user an audit page mentions, by email and name."""

    email: str | None
    full_name: str | None


class AuditPage(Page[AuditEntry]):
    """One page of audit entries, newest first, and the people they mention."""

    people: dict[str, PersonSummary] = Field(
        description="user id → email and name, for the actors and subjects on this page."
    )
