"""Auth function: accounts, sessions (JWT with refresh rotation) and user administration.

Routes only; the logic lives in accounts.py, sessions.py, brute_force.py, audit.py,
common_passwords.py and firebase_tokens.py. docs/auth.md describes the endpoints, the
token design and the error codes.
"""

from __future__ import annotations

from typing import Any

import accounts
import audit
import auth_models as m
import firebase_tokens
import flask
import functions_framework
import sessions

from shared.auth.rbac import Permission, public, require_permission
from shared.config import get_settings
from shared.errors import Unauthorized
from shared.firestore import get_client
from shared.http import App, Reply, RequestContext
from shared.pagination import PageQuery
from shared.ratelimit import RateLimitRule
from shared.startup import check_configuration

check_configuration()  # a bad setting or signing key stops the instance here
app = App("auth")


def _sensitive_rule(name: str, divisor: int) -> RateLimitRule:
    """A per-route limit ``divisor`` times stricter than the function default.

    Derived from the configured default (120/min, burst 30 in production → login 20/min,
    burst 5) so one setting scales every limit. Fails closed: if the limiter's backend is
    down, refusing sign-ins (503) is safer than admitting unlimited password guesses.
    """
    settings = get_settings()
    return RateLimitRule(
        f"auth-{name}",
        per_minute=max(1, settings.rate_limit_per_minute // divisor),
        burst=max(1, settings.rate_limit_burst // divisor),
        fail_mode="closed",
    )


LOGIN_LIMIT = _sensitive_rule("login", 6)
REGISTER_LIMIT = _sensitive_rule("register", 12)
REFRESH_LIMIT = _sensitive_rule("refresh", 2)


def _token_reply(ctx: RequestContext, session: sessions.SessionTokens) -> dict[str, Any]:
    return {
        "user": accounts.public_user(session.user),
        "access_token": session.access.token,
        "refresh_token": session.refresh.token,
        "token_type": "bearer",
        "expires_in": session.access.expires_in,
        "refresh_expires_in": session.refresh.expires_in,
    }


def _user_agent(ctx: RequestContext) -> str:
    return ctx.request.headers.get("User-Agent", "")


def _open_session(ctx: RequestContext, db: Any, user_id: str) -> sessions.SessionTokens:
    """Sign the user in from this request: a new session, with last_login stamped in it."""
    return sessions.open_session(
        db,
        user_id,
        settings=ctx.settings,
        ip=ctx.client_ip,
        user_agent=_user_agent(ctx),
        user_updates=accounts.touch_last_login(),
    )


def _audit(
    ctx: RequestContext,
    db: Any,
    event: audit.AuditEvent,
    *,
    actor_id: str | None,
    subject_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record ``event`` for this request; the client's IP goes into every audit entry."""
    audit.record(
        db, event, actor_id=actor_id, subject_id=subject_id, ip=ctx.client_ip, details=details
    )


@app.get("/health", rate_limited=False)
@public
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


@app.post("/register", body=m.RegisterBody, rate_limit=REGISTER_LIMIT, status=201)
@public
def register(ctx: RequestContext) -> dict[str, Any]:
    """Create a customer account and sign it in."""
    body = ctx.body_as(m.RegisterBody)
    db = get_client()
    user = accounts.create_account(
        db,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role="customer",
        phone=body.phone,
    )
    _audit(ctx, db, audit.AuditEvent.REGISTERED, actor_id=user["id"], subject_id=user["id"])
    return _token_reply(ctx, _open_session(ctx, db, user["id"]))


@app.post("/login", body=m.LoginBody, rate_limit=LOGIN_LIMIT)
@public
def login(ctx: RequestContext) -> dict[str, Any]:
    """Exchange email and password for tokens (and a Firebase custom token)."""
    body = ctx.body_as(m.LoginBody)
    db = get_client()
    user = accounts.sign_in(
        db, email=body.email, password=body.password, ip=ctx.client_ip, settings=ctx.settings
    )
    session = _open_session(ctx, db, user["id"])
    _audit(
        ctx,
        db,
        audit.AuditEvent.LOGIN_SUCCEEDED,
        actor_id=user["id"],
        subject_id=user["id"],
        details={"session_id": session.session_id},
    )
    reply = _token_reply(ctx, session)
    reply["firebase_token"] = firebase_tokens.create_custom_token(
        user["id"],
        role=session.user["role"],
        service_center_id=session.user.get("service_center_id"),
        settings=ctx.settings,
    )
    return reply


@app.post("/refresh", body=m.RefreshBody, rate_limit=REFRESH_LIMIT)
@public
def refresh(ctx: RequestContext) -> dict[str, Any]:
    """Rotate a refresh token: a new pair; reusing an old one revokes the session."""
    body = ctx.body_as(m.RefreshBody)
    db = get_client()
    outcome = sessions.refresh(
        db,
        body.refresh_token,
        settings=ctx.settings,
        ip=ctx.client_ip,
        user_agent=_user_agent(ctx),
    )
    if outcome.result == "reused":
        _audit(ctx, db, audit.AuditEvent.REFRESH_REUSED, actor_id=None, subject_id=outcome.user_id)
        raise Unauthorized(
            "This refresh token was already used; the session has been revoked.",
            code="refresh_reused",
        )
    if outcome.result == "disabled":
        raise Unauthorized("The account is deactivated.", code="account_disabled")
    if outcome.session is None:
        raise Unauthorized("The session has ended; sign in again.", code="session_revoked")
    return _token_reply(ctx, outcome.session)


@app.post("/logout", body=m.RefreshBody)
@public
def logout(ctx: RequestContext) -> Reply:
    """End the session of this refresh token (no access token needed: it may have expired)."""
    sessions.close_session(
        get_client(), ctx.body_as(m.RefreshBody).refresh_token, settings=ctx.settings
    )
    return Reply(status=204)


@app.post("/logout-all")
def logout_all(ctx: RequestContext) -> Reply:
    """End every session of the caller, this one included."""
    db = get_client()
    sessions.close_all_sessions(db, ctx.user.user_id, reason="logout_all")
    _audit(
        ctx, db, audit.AuditEvent.LOGOUT_ALL, actor_id=ctx.user.user_id, subject_id=ctx.user.user_id
    )
    return Reply(status=204)


@app.get("/me")
@require_permission(Permission.PROFILE_READ)
def me(ctx: RequestContext) -> dict[str, Any]:
    """The caller's own account."""
    return accounts.public_user(accounts.require_user(get_client(), ctx.user.user_id))


@app.patch("/me", body=m.ProfilePatch)
@require_permission(Permission.PROFILE_WRITE)
def update_me(ctx: RequestContext) -> dict[str, Any]:
    """Change the caller's full_name and/or phone (nothing else)."""
    changes = ctx.body_as(m.ProfilePatch).model_dump(exclude_unset=True)
    return accounts.public_user(accounts.update_profile(get_client(), ctx.user.user_id, changes))


@app.post("/password", body=m.PasswordChangeBody, rate_limit=LOGIN_LIMIT)
@require_permission(Permission.PROFILE_WRITE)
def change_password(ctx: RequestContext) -> Reply:
    """Change the caller's password; every other session ends."""
    body = ctx.body_as(m.PasswordChangeBody)
    accounts.change_password(
        get_client(),
        ctx.user,
        current_password=body.current_password,
        new_password=body.new_password,
        ip=ctx.client_ip,
        settings=ctx.settings,
    )
    return Reply(status=204)


@app.get("/users", query=m.UserListQuery)
@require_permission(Permission.USERS_READ)
def list_users(ctx: RequestContext) -> dict[str, Any]:
    """Users, newest first, filtered by role and/or active, cursor-paginated."""
    query = ctx.query_as(m.UserListQuery)
    page = PageQuery(limit=query.limit, cursor=query.cursor)
    items, cursor = accounts.list_users(
        get_client(), role=query.role, active=query.active, page=page
    )
    return {"items": items, "next_cursor": cursor}


@app.get("/users/<user_id>")
@require_permission(Permission.USERS_READ)
def get_user(ctx: RequestContext) -> dict[str, Any]:
    """One user's account."""
    return accounts.public_user(accounts.require_user(get_client(), ctx.path_params["user_id"]))


@app.patch("/users/<user_id>", body=m.AdminUserPatch)
@require_permission(Permission.USERS_MANAGE)
def update_user(ctx: RequestContext) -> dict[str, Any]:
    """Change a user's role, active flag or service center; effective on their next request."""
    changes = ctx.body_as(m.AdminUserPatch).model_dump(exclude_unset=True, mode="json")
    user = accounts.admin_update(
        get_client(), ctx.user, ctx.path_params["user_id"], changes, ip=ctx.client_ip
    )
    return accounts.public_user(user)


@functions_framework.http
def auth(request: flask.Request) -> flask.Response:
    """Entry point of the auth Cloud Function."""
    return app(request)
