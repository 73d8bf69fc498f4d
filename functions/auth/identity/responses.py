"""Response models of the auth routes: what a client receives (pure; the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime

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
