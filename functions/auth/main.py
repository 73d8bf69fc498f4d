"""Auth function: accounts, sessions (JWT with refresh rotation) and user administration.

Routes only: each declares who may call it, parses its input, makes one call into
:mod:`identity.service` and returns. Where things live: docs/auth.md ("Where things live")
and the package docstring of :mod:`identity`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import functions_framework

from identity import service
from shared.auth.rbac import PUBLIC, SIGNED_IN, Permission
from shared.config import get_settings
from shared.http import App, Reply, RequestContext
from shared.model_refs import lazy_models
from shared.ratelimit import RateLimitRule
from shared.startup import check_configuration

# Request and response models are imported by the first request that needs one (and by
# the OpenAPI generator), not at every cold start: shared/model_refs.py.
if TYPE_CHECKING:
    from identity import models as m
    from identity import responses as r
    from shared import responses as shared_r
else:
    m = lazy_models("identity.models")
    r = lazy_models("identity.responses")
    shared_r = lazy_models("shared.responses")

check_configuration()  # a bad setting or signing key stops the instance here
app = App("auth")


def _sensitive_rule(name: str, divisor: int, burst_divisor: int | None = None) -> RateLimitRule:
    """A per-route limit ``divisor`` times stricter than the function default.

    Derived from the configured default (120/min, burst 30 in production) so one setting
    scales every limit. Fails closed: if the limiter's backend is down, refusing sign-ins
    (503) is safer than admitting unlimited password guesses.
    """
    settings = get_settings()
    return RateLimitRule(
        f"auth-{name}",
        per_minute=max(1, settings.rate_limit_per_minute // divisor),
        burst=max(1, settings.rate_limit_burst // (burst_divisor or divisor)),
        fail_mode="closed",
    )


# Per client network (an IPv4 address, an IPv6 /64). Guessing is bounded by the attempt
# counters (identity/brute_force.py), so this only bounds request volume and bcrypt CPU;
# it is sized for many people behind one address: 60/min with a burst of 30 lets a whole
# workshop shift sign in at 8:00 and a carrier NAT's users one a second (docs/auth.md).
LOGIN_LIMIT = _sensitive_rule("login", 2, burst_divisor=1)
REGISTER_LIMIT = _sensitive_rule("register", 12, burst_divisor=6)
CONFIRM_LIMIT = _sensitive_rule("confirm", 12, burst_divisor=6)
REFRESH_LIMIT = _sensitive_rule("refresh", 2)


@app.get("/health", access=PUBLIC, rate_limited=False, response=shared_r.FunctionHealth)
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


@app.post(
    "/register",
    access=PUBLIC,
    body=m.RegisterBody,
    rate_limit=REGISTER_LIMIT,
    status=202,
    response=r.RegistrationAccepted,
)
def register(ctx: RequestContext) -> Reply:
    """Register a customer; the same 202 whether or not the address has an account."""
    return service.register(ctx, ctx.body_as(m.RegisterBody))


@app.post(
    "/verify-email",
    access=PUBLIC,
    body=m.ConfirmEmailBody,
    rate_limit=CONFIRM_LIMIT,
    response=r.Tokens,
    responses={400: "invalid_confirmation: the code is wrong, used or expired"},
)
def verify_email(ctx: RequestContext) -> dict[str, Any]:
    """Confirm a new account with the code sent to its address, and sign it in."""
    return service.confirm_email(ctx, ctx.body_as(m.ConfirmEmailBody))


@app.post(
    "/login",
    access=PUBLIC,
    body=m.LoginBody,
    rate_limit=LOGIN_LIMIT,
    response=r.Tokens,
    responses={
        401: "invalid_credentials (wrong email or password, or not confirmed yet), "
        "account_disabled",
    },
)
def login(ctx: RequestContext) -> dict[str, Any]:
    """Exchange email and password for tokens (and a Firebase custom token)."""
    return service.login(ctx, ctx.body_as(m.LoginBody))


@app.post(
    "/refresh",
    access=PUBLIC,
    body=m.RefreshBody,
    rate_limit=REFRESH_LIMIT,
    response=r.Tokens,
    responses={
        401: "invalid_token, refresh_reused (the session is revoked), session_revoked, "
        "account_disabled",
    },
)
def refresh(ctx: RequestContext) -> dict[str, Any]:
    """Rotate a refresh token: a new pair; reusing an old one revokes the session."""
    return service.refresh(ctx, ctx.body_as(m.RefreshBody))


@app.post(
    "/logout",
    access=PUBLIC,
    body=m.RefreshBody,
    status=204,
    responses={401: "invalid_token: not a refresh token this API issued, or expired"},
)
def logout(ctx: RequestContext) -> Reply:
    """End the session of this refresh token (no access token needed: it may have expired)."""
    service.logout(ctx, ctx.body_as(m.RefreshBody))
    return Reply(status=204)


@app.post("/logout-all", access=SIGNED_IN, status=204)
def logout_all(ctx: RequestContext) -> Reply:
    """End every session of the caller, this one included."""
    service.logout_all(ctx)
    return Reply(status=204)


@app.get("/me", access=Permission.PROFILE_READ, response=r.User)
def me(ctx: RequestContext) -> dict[str, Any]:
    """The caller's own account."""
    return service.me(ctx)


@app.patch("/me", access=Permission.PROFILE_WRITE, body=m.ProfilePatch, response=r.User)
def update_me(ctx: RequestContext) -> dict[str, Any]:
    """Change the caller's full_name and/or phone (nothing else)."""
    return service.update_me(ctx, ctx.body_as(m.ProfilePatch))


@app.post(
    "/password",
    access=Permission.PROFILE_WRITE,
    body=m.PasswordChangeBody,
    rate_limit=LOGIN_LIMIT,
    status=204,
    responses={403: "wrong_password: current_password is not the account's password"},
)
def change_password(ctx: RequestContext) -> Reply:
    """Change the caller's password; every other session ends."""
    service.change_password(ctx, ctx.body_as(m.PasswordChangeBody))
    return Reply(status=204)


@app.get("/users", access=Permission.USERS_READ, query=m.UserListQuery, response=r.UserPage)
def list_users(ctx: RequestContext) -> dict[str, Any]:
    """Users, newest first; filters role, active and q (email or name), cursor-paginated."""
    return service.list_users(ctx.query_as(m.UserListQuery))


@app.get("/users/<user_id>", access=Permission.USERS_READ, response=r.User)
def get_user(ctx: RequestContext) -> dict[str, Any]:
    """One user's account."""
    return service.get_user(ctx.path_params["user_id"])


@app.patch(
    "/users/<user_id>",
    access=Permission.USERS_MANAGE,
    body=m.AdminUserPatch,
    response=r.User,
)
def update_user(ctx: RequestContext) -> dict[str, Any]:
    """Change a user's role, active flag or service center; effective on their next request."""
    return service.update_user(ctx, ctx.path_params["user_id"], ctx.body_as(m.AdminUserPatch))


@app.get("/audit", access=Permission.AUDIT_READ, query=m.AuditListQuery, response=r.AuditPage)
def audit_log(ctx: RequestContext) -> dict[str, Any]:
    """Audit entries, newest first; filters subject_id, actor_id, event, from, to."""
    return service.audit_log(ctx.query_as(m.AuditListQuery))


@functions_framework.http
def auth(request: flask.Request) -> flask.Response:
    """Entry point of the auth Cloud Function."""
    return app(request)
