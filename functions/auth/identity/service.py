"""One function per route of the auth function: from a validated request to an answer.

Sign-in, refresh and sign-out turn into session changes (:mod:`identity.sessions`); account
changes into :mod:`identity.accounts`; each security event is recorded once
(:mod:`identity.audit`) with the caller's IP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from identity import accounts, audit, audit_trail, firebase_tokens, sessions
from shared.errors import Unauthorized
from shared.http import Reply, RequestContext

# Request models appear here only in annotations: a cold start whose first request validates
# no body does not import them (shared/model_refs.py).
if TYPE_CHECKING:
    from identity.models import (
        AdminUserPatch,
        AuditListQuery,
        ConfirmEmailBody,
        LoginBody,
        PasswordChangeBody,
        ProfilePatch,
        RefreshBody,
        RegisterBody,
        UserListQuery,
    )


def _token_reply(session: sessions.SessionTokens) -> dict[str, Any]:
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


def _open_session(ctx: RequestContext, user_id: str) -> sessions.SessionTokens:
    """Sign the user in from this request: a new session, with last_login stamped in it."""
    return sessions.open_session(
        user_id,
        settings=ctx.settings,
        ip=ctx.client_ip,
        user_agent=_user_agent(ctx),
        user_updates=accounts.touch_last_login(),
    )


def _audit(
    ctx: RequestContext,
    event: audit.AuditEvent,
    *,
    actor_id: str | None,
    subject_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record ``event`` for this request; the client's IP goes into every audit entry."""
    audit.record(event, actor_id=actor_id, subject_id=subject_id, ip=ctx.client_ip, details=details)


# The one answer to every well-formed registration, new address or not (accounts.py).
REGISTRATION_ACCEPTED = {
    "status": "confirmation_sent",
    "message": (
        "If this address can be used for a new account, a confirmation code is on its way "
        "to it. Send the code to POST /api/auth/verify-email to finish and sign in."
    ),
}


def register(ctx: RequestContext, body: RegisterBody) -> Reply:
    """Register a customer (pending confirmation); the same 202 whatever the address."""
    outcome = accounts.register_account(
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        phone=body.phone,
        settings=ctx.settings,
    )
    event = (
        audit.AuditEvent.REGISTRATION_FOR_EXISTING_ACCOUNT
        if outcome.existing
        else audit.AuditEvent.REGISTERED
    )
    _audit(ctx, event, actor_id=None, subject_id=outcome.user_id)
    return Reply(dict(REGISTRATION_ACCEPTED), 202)


def confirm_email(ctx: RequestContext, body: ConfirmEmailBody) -> dict[str, Any]:
    """Confirm a new account's address with the code sent to it, and sign it in."""
    user = accounts.confirm_email(body.code)
    _audit(ctx, audit.AuditEvent.EMAIL_CONFIRMED, actor_id=user["id"], subject_id=user["id"])
    return _signed_in(ctx, user["id"])


def login(ctx: RequestContext, body: LoginBody) -> dict[str, Any]:
    """Exchange email and password for tokens and a Firebase custom token."""
    user = accounts.sign_in(
        email=body.email, password=body.password, client=ctx.client, settings=ctx.settings
    )
    return _signed_in(ctx, user["id"])


def _signed_in(ctx: RequestContext, user_id: str) -> dict[str, Any]:
    """A new session for ``user_id``, audited, as tokens and a Firebase custom token."""
    session = _open_session(ctx, user_id)
    _audit(
        ctx,
        audit.AuditEvent.LOGIN_SUCCEEDED,
        actor_id=user_id,
        subject_id=user_id,
        details={"session_id": session.session_id},
    )
    reply = _token_reply(session)
    reply["firebase_token"] = firebase_tokens.create_custom_token(
        user_id,
        role=session.user["role"],
        service_center_id=session.user.get("service_center_id"),
        settings=ctx.settings,
    )
    return reply


def refresh(ctx: RequestContext, body: RefreshBody) -> dict[str, Any]:
    """Rotate a refresh token: a new pair; reusing an old one revokes the session."""
    outcome = sessions.refresh(
        body.refresh_token,
        settings=ctx.settings,
        ip=ctx.client_ip,
        user_agent=_user_agent(ctx),
    )
    if outcome.result == "reused":
        _audit(ctx, audit.AuditEvent.REFRESH_REUSED, actor_id=None, subject_id=outcome.user_id)
        raise Unauthorized(
            "This refresh token was already used; the session has been revoked.",
            code="refresh_reused",
        )
    if outcome.result == "disabled":
        raise Unauthorized("The account is deactivated.", code="account_disabled")
    if outcome.session is None:
        raise Unauthorized("The session has ended; sign in again.", code="session_revoked")
    return _token_reply(outcome.session)


def logout(ctx: RequestContext, body: RefreshBody) -> None:
    """End the session of this refresh token."""
    sessions.close_session(body.refresh_token, settings=ctx.settings)


def logout_all(ctx: RequestContext) -> None:
    """End every session of the caller, this one included, and the app's direct reads."""
    user_id = ctx.user.user_id
    accounts.sign_out_everywhere(user_id)
    _audit(ctx, audit.AuditEvent.LOGOUT_ALL, actor_id=user_id, subject_id=user_id)


def me(ctx: RequestContext) -> dict[str, Any]:
    """The caller's own account."""
    return accounts.public_user(accounts.require_user(ctx.user.user_id))


def update_me(ctx: RequestContext, patch: ProfilePatch) -> dict[str, Any]:
    """Change the caller's full_name and/or phone (nothing else)."""
    changes = patch.model_dump(exclude_unset=True)
    return accounts.public_user(accounts.update_profile(ctx.user.user_id, changes))


def change_password(ctx: RequestContext, body: PasswordChangeBody) -> None:
    """Change the caller's password; every other session ends."""
    accounts.change_password(
        ctx.user,
        current_password=body.current_password,
        new_password=body.new_password,
        client=ctx.client,
        settings=ctx.settings,
    )


def list_users(query: UserListQuery) -> dict[str, Any]:
    """Users, newest first, filtered by role, active and/or a search, cursor-paginated."""
    from shared.request_models import PageQuery  # loaded by the query's validation

    page = PageQuery(limit=query.limit, cursor=query.cursor)
    items, cursor = accounts.list_users(
        role=query.role, active=query.active, page=page, search=query.q
    )
    return {"items": items, "next_cursor": cursor}


def audit_log(query: AuditListQuery) -> dict[str, Any]:
    """Audit entries, newest first, filtered; ``people`` names the users they mention.

    Personal data by purpose (an investigation needs who, from which address): the route
    is ``audit:read``, the admin's alone (docs/rbac.md), and ``people`` holds only the email
    and name of the users the page's entries mention.
    """
    from shared.request_models import PageQuery  # loaded by the query's validation

    equals = {
        name: value
        for name, value in (
            ("subject_id", query.subject_id),
            ("actor_id", query.actor_id),
            ("event", query.event),
        )
        if value is not None
    }
    items, cursor = audit_trail.list_entries(
        equals=equals,
        since=query.from_at,
        until=query.to_at,
        page=PageQuery(limit=query.limit, cursor=query.cursor),
    )
    mentioned = [i[key] for i in items for key in ("actor_id", "subject_id") if i.get(key)]
    return {"items": items, "next_cursor": cursor, "people": accounts.summaries(mentioned)}


def get_user(user_id: str) -> dict[str, Any]:
    """One user's account."""
    return accounts.public_user(accounts.require_user(user_id))


def update_user(ctx: RequestContext, user_id: str, patch: AdminUserPatch) -> dict[str, Any]:
    """Change a user's role, active flag or service center; effective on their next request."""
    changes = patch.model_dump(exclude_unset=True, mode="json")
    return accounts.public_user(accounts.admin_update(ctx.user, user_id, changes, ip=ctx.client_ip))
