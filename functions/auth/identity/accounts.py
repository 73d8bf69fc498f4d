"""Accounts: creation, sign-in checks, profile and password changes, admin management.

Storage:
- ``users/{user_id}``: email (normalised), password_hash, full_name, phone, role,
  is_active, email_verified, created_at, updated_at, last_login, password_changed_at,
  service_center_id, session_ids (see sessions.py).
- ``user_emails/{sha256(normalised email)}``: {user_id} — the uniqueness guard. It is
  created together with the user document in one atomic batch of two ``create`` writes, so
  of any number of concurrent registrations of one email exactly one commits; the others
  fail with AlreadyExists (→ 409 ``email_taken``) and leave nothing behind.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from identity import audit, brute_force, password_policy, sessions
from shared import clock
from shared.auth import passwords
from shared.auth.principal import USERS_COLLECTION, Principal, forget_user
from shared.auth.rbac import Role
from shared.config import Settings, get_settings
from shared.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from shared.firestore import get_client
from shared.pagination import PageQuery, page_of
from shared.query_shapes import QueryShape, register

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query

EMAILS_COLLECTION = "user_emails"
# Roles whose work is tied to one service center: they must name it.
CENTER_ROLES = frozenset({Role.SERVICE_CENTER, Role.MECHANIC})
# What never leaves the server, whatever the caller's role.
PRIVATE_FIELDS = frozenset({"password_hash", "session_ids"})

USER_LIST_SHAPES = register(
    QueryShape(USERS_COLLECTION, order=(("created_at", "DESCENDING"),), description="all users"),
    QueryShape(
        USERS_COLLECTION,
        equality=("role",),
        order=(("created_at", "DESCENDING"),),
        description="admin list filtered by role",
    ),
    QueryShape(
        USERS_COLLECTION,
        equality=("is_active",),
        order=(("created_at", "DESCENDING"),),
        description="admin list filtered by active",
    ),
    QueryShape(
        USERS_COLLECTION,
        equality=("role", "is_active"),
        order=(("created_at", "DESCENDING"),),
        description="admin list filtered by role and active",
    ),
)


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


def invalid_credentials() -> Unauthorized:
    # One body for unknown email and wrong password, so responses reveal no accounts.
    return Unauthorized("The email or password is incorrect.", code="invalid_credentials")


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively (in practice every provider does)."""
    return email.strip().lower()


def email_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def public_user(doc: dict[str, Any]) -> dict[str, Any]:
    """The user as clients see it: no password hash, no session ids."""
    return {
        "id": doc.get("id"),
        "email": doc.get("email"),
        "full_name": doc.get("full_name"),
        "phone": doc.get("phone"),
        "role": doc.get("role"),
        "is_active": doc.get("is_active"),
        "email_verified": doc.get("email_verified", False),
        "service_center_id": doc.get("service_center_id"),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "last_login": doc.get("last_login"),
    }


def create_account(
    *,
    email: str,
    password: str,
    full_name: str,
    role: str,
    phone: str | None = None,
    service_center_id: str | None = None,
    cost: int | None = None,
    enforce_policy: bool = True,
) -> dict[str, Any]:
    """Create a user (and its email guard) atomically; :class:`EmailTaken` on a duplicate.

    The demo seeder calls this too (it may pass ``enforce_policy=False`` for fixed demo
    passwords). Returns the stored user with its ``id``, private fields included — pass it
    through :func:`public_user` before showing it to anyone.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.api_core.exceptions import Conflict as GoogleConflict

    normalised = normalise_email(email)
    role = Role(role).value
    if enforce_policy:
        password_policy.ensure_acceptable(password, email=normalised)
    password_hash = passwords.hash_password(password, cost or get_settings().bcrypt_cost)
    user_id = uuid.uuid4().hex
    now = clock.now()
    user: dict[str, Any] = {
        "email": normalised,
        "password_hash": password_hash,
        "full_name": full_name,
        "phone": phone,
        "role": role,
        "is_active": True,
        "email_verified": False,
        "created_at": now,
        "updated_at": now,
        "last_login": None,
        "password_changed_at": now,
        "service_center_id": service_center_id,
        "session_ids": [],
    }
    batch = get_client().batch()
    batch.create(
        get_client().collection(EMAILS_COLLECTION).document(email_key(normalised)),
        {"user_id": user_id, "created_at": now},
    )
    batch.create(get_client().collection(USERS_COLLECTION).document(user_id), user)
    try:
        batch.commit()
    except (AlreadyExists, GoogleConflict):
        raise EmailTaken() from None
    return {"id": user_id, **user}


def get_user(user_id: str) -> dict[str, Any] | None:
    snapshot = get_client().collection(USERS_COLLECTION).document(user_id).get()
    return {"id": user_id, **(snapshot.to_dict() or {})} if snapshot.exists else None


def require_user(user_id: str) -> dict[str, Any]:
    user = get_user(user_id)
    if user is None:
        raise NotFound("The user does not exist.")
    return user


def _find_by_email(normalised: str) -> dict[str, Any] | None:
    guard = get_client().collection(EMAILS_COLLECTION).document(email_key(normalised)).get()
    # Both paths make the same two reads, so an unknown email is not faster to answer.
    user_id = guard.get("user_id") if guard.exists else f"absent-{uuid.uuid4().hex}"
    return get_user(user_id)


def sign_in(*, email: str, password: str, ip: str, settings: Settings) -> dict[str, Any]:
    """Check credentials under brute-force protection; the user on success, else 401/429."""
    normalised = normalise_email(email)
    account, address = brute_force.subjects(normalised, ip)
    # Checked before the password, so a locked account cannot be guessed at all.
    brute_force.ensure_not_locked(account, address)
    user = _find_by_email(normalised)
    if user is None:
        passwords.burn_equal_time(password, settings.bcrypt_cost)
        ok = False
    else:
        ok = passwords.verify_password(password, user.get("password_hash", ""))
    if not ok:
        _count_failure(account, address, user, ip, normalised)
        raise invalid_credentials()
    assert user is not None  # for mypy: ok implies a user was found
    brute_force.reset(account)
    if not user.get("is_active", False):
        # Only after the right password, so this reveals nothing to a guesser.
        raise Unauthorized("The account is deactivated.", code="account_disabled")
    if passwords.needs_rehash(user["password_hash"], settings.bcrypt_cost):
        # The cost went up since this hash was made: upgrade it while we know the password.
        new_hash = passwords.hash_password(password, settings.bcrypt_cost)
        get_client().collection(USERS_COLLECTION).document(user["id"]).update(
            {"password_hash": new_hash}
        )
    return user


def _count_failure(
    account: brute_force.Subject,
    address: brute_force.Subject,
    user: dict[str, Any] | None,
    ip: str,
    normalised: str,
) -> None:
    account_count = brute_force.record_failure(account)
    address_count = brute_force.record_failure(address)
    subject = user["id"] if user else None
    details = {"email_hash": email_key(normalised)[:16], "known_account": user is not None}

    def record(event: audit.AuditEvent, event_details: dict[str, Any]) -> None:
        # Nobody is signed in yet, so there is no actor; the subject is the account tried.
        audit.record(event, actor_id=None, subject_id=subject, ip=ip, details=event_details)

    record(audit.AuditEvent.LOGIN_FAILED, details)
    if brute_force.MAX_FAILURES in (account_count, address_count):
        scope = "account" if account_count >= brute_force.MAX_FAILURES else "ip"
        window = brute_force.WINDOW_SECONDS
        record(audit.AuditEvent.LOCKOUT, {**details, "scope": scope, "window_seconds": window})


def update_profile(user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the caller's own profile edits (full_name, phone)."""
    ref = get_client().collection(USERS_COLLECTION).document(user_id)
    ref.update({**changes, "updated_at": clock.now()})
    return require_user(user_id)


def change_password(
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    ip: str,
    settings: Settings,
) -> None:
    """Check the current password, store the new one, end every other session."""
    user = require_user(principal.user_id)
    account = brute_force.Subject("account", user["email"])
    brute_force.ensure_not_locked(account)
    if not passwords.verify_password(current_password, user.get("password_hash", "")):
        brute_force.record_failure(account)
        # 403, not 401: the caller's token is fine, and a 401 would make clients sign out.
        raise Forbidden("The current password is incorrect.", code="wrong_password")
    password_policy.ensure_acceptable(new_password, email=user["email"], field="new_password")
    new_hash = passwords.hash_password(new_password, settings.bcrypt_cost)
    get_client().collection(USERS_COLLECTION).document(principal.user_id).update(
        {"password_hash": new_hash, "password_changed_at": clock.now(), "updated_at": clock.now()}
    )
    sessions.close_all_sessions(
        principal.user_id, keep=principal.session_id, reason="password_changed"
    )
    audit.record(
        audit.AuditEvent.PASSWORD_CHANGED,
        actor_id=principal.user_id,
        subject_id=principal.user_id,
        ip=ip,
    )


def list_users(
    *, role: Role | None, active: bool | None, page: PageQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of users, newest first, optionally filtered (shapes registered above)."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = get_client().collection(USERS_COLLECTION)
    query: CollectionReference | Query = collection
    if role is not None:
        query = query.where(filter=FieldFilter("role", "==", role.value))
    if active is not None:
        query = query.where(filter=FieldFilter("is_active", "==", active))
    # __name__ breaks ties between equal timestamps so the cursor is exact.
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, query, ["created_at"], page)
    return [public_user({"id": s.id, **(s.to_dict() or {})}) for s in snapshots], cursor


def admin_update(
    actor: Principal, user_id: str, changes: dict[str, Any], *, ip: str
) -> dict[str, Any]:
    """Change a user's role, active flag or center; effective on their next request."""
    user = require_user(user_id)
    if user_id == actor.user_id and (
        changes.get("is_active") is False or ("role" in changes and changes["role"] != Role.ADMIN)
    ):
        # The last admin locking themselves out has no way back but the console.
        raise ValidationFailed(
            "You cannot deactivate yourself or give up your own admin role.",
            code="self_lockout",
        )
    new_role = Role(changes.get("role", user["role"]))
    center = changes.get("service_center_id", user.get("service_center_id"))
    if new_role in CENTER_ROLES and not center:
        raise ValidationFailed(
            f"A {new_role.value} must belong to a service center; send service_center_id.",
            code="service_center_required",
        )
    updates: dict[str, Any] = {"updated_at": clock.now()}
    if "role" in changes:
        updates["role"] = new_role.value
    if "is_active" in changes:
        updates["is_active"] = bool(changes["is_active"])
    if "service_center_id" in changes:
        updates["service_center_id"] = changes["service_center_id"]
    get_client().collection(USERS_COLLECTION).document(user_id).update(updates)
    forget_user(user_id)  # effective at once on this instance (principal cache)

    def record(event: audit.AuditEvent, details: dict[str, Any] | None = None) -> None:
        audit.record(event, actor_id=actor.user_id, subject_id=user_id, ip=ip, details=details)

    if updates.get("is_active") is False and user.get("is_active", False):
        # is_active alone already stops every request; ending the sessions too means a
        # later reactivation does not bring old tokens back to life.
        sessions.close_all_sessions(user_id, reason="deactivated")
        record(audit.AuditEvent.ACCOUNT_DEACTIVATED)
    if updates.get("is_active") is True and not user.get("is_active", False):
        record(audit.AuditEvent.ACCOUNT_REACTIVATED)
    if "role" in updates and updates["role"] != user.get("role"):
        record(audit.AuditEvent.ROLE_CHANGED, {"from": user.get("role"), "to": updates["role"]})
    return require_user(user_id)


def touch_last_login() -> dict[str, Any]:
    """The user-document fields a successful sign-in sets (written with the session)."""
    return {"last_login": clock.now()}
