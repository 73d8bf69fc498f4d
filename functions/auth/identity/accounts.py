"""Accounts: registration, sign-in checks, profile and password changes, admin management.

Storage:
- ``users/{user_id}``: email (normalised), password_hash, full_name, phone, role,
  is_active, email_verified, created_at, updated_at, last_login, password_changed_at,
  service_center_id, session_ids (see sessions.py), ``search_prefixes`` (the keys the admin
  search finds the account by: shared/user_search.py, rewritten whenever the email or name
  is); while a self-registered address is unconfirmed also ``pending_verification`` (True),
  ``verification_hash`` and ``verification_expires_at``.
- ``user_emails/{sha256(normalised email)}``: {user_id} — the uniqueness guard. It is
  created together with the user document in one atomic batch of ``create`` writes, so of
  any number of concurrent registrations of one email exactly one commits; the others fail
  with AlreadyExists and leave nothing behind.

Registration never says whether an address had an account: every well-formed request gets
the same 202, and the *owner of the address* is told what happened through the outbox
(identity/outbox.py) — a confirmation code for a new account, a "someone tried to register
with your address" note for an existing one. A new account signs in only once its address is
confirmed, and until then sign-in answers exactly as for a wrong password, so "register,
then try to sign in" reveals nothing either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from identity import audit, brute_force, outbox, password_policy, sessions
from shared import clock
from shared.auth import passwords, sdk_revocation
from shared.auth.principal import USERS_COLLECTION, Principal, forget_user
from shared.auth.rbac import Role
from shared.client_ip import ClientIp
from shared.config import Settings, get_settings
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from shared.firestore import get_client
from shared.ids import is_document_id
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register
from shared.user_search import SEARCH_FIELD, matches, query_terms, search_prefixes

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query, Transaction, WriteBatch

    from shared.request_models import PageQuery  # annotations only: pydantic stays unloaded

EMAILS_COLLECTION = "user_emails"
# A confirmation code is good for two days; registering again sends a fresh one.
CONFIRMATION_HOURS = 48
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
# The admin search (``?q=``): one array_contains_any on the search keys, with the same
# optional filters and order as the listing above.
USER_SEARCH_SHAPES = register(
    *(
        QueryShape(
            USERS_COLLECTION,
            equality=equality,
            array_contains=SEARCH_FIELD,
            order=(("created_at", "DESCENDING"),),
            description="admin search by email or name, with its filters",
        )
        for equality in ((), ("role",), ("is_active",), ("role", "is_active"))
    )
)


class EmailTaken(Conflict):
    """Only for callers that create accounts directly (admin tooling, the demo seeder)."""

    code = "email_taken"
    default_message = "An account with this email already exists."


def invalid_credentials() -> Unauthorized:
    # One body for unknown email, wrong password and an unconfirmed new account, so
    # responses reveal no accounts.
    return Unauthorized(
        "The email or password is incorrect, or the address is not confirmed yet.",
        code="invalid_credentials",
    )


def invalid_confirmation() -> BadRequest:
    return BadRequest(
        "The confirmation code is invalid, already used or expired; register again to get "
        "a new one.",
        code="invalid_confirmation",
    )


@dataclass(frozen=True)
class Registration:
    """What a registration did. The caller is told none of it; the address owner is."""

    user_id: str
    # True when the address already had a confirmed account (nothing was changed).
    existing: bool


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
    user = _new_user(normalised, password_hash, full_name, phone, role, service_center_id)
    batch = _creation_batch(user_id, user)
    try:
        batch.commit()
    except (AlreadyExists, GoogleConflict):
        raise EmailTaken() from None
    return {"id": user_id, **user}


def _new_user(
    normalised: str,
    password_hash: str,
    full_name: str,
    phone: str | None,
    role: str,
    service_center_id: str | None,
) -> dict[str, Any]:
    now = clock.now()
    return {
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
        SEARCH_FIELD: search_prefixes(normalised, full_name),
    }


def _creation_batch(user_id: str, user: dict[str, Any]) -> WriteBatch:
    """The email guard and the user, both ``create``: the batch fails if either exists."""
    batch = get_client().batch()
    batch.create(
        get_client().collection(EMAILS_COLLECTION).document(email_key(user["email"])),
        {"user_id": user_id, "created_at": user["created_at"]},
    )
    batch.create(get_client().collection(USERS_COLLECTION).document(user_id), user)
    return batch


def _confirmation_fields() -> tuple[str, dict[str, Any]]:
    """A fresh secret and the user fields that make it the account's current one."""
    secret = secrets.token_urlsafe(32)
    return secret, {
        "pending_verification": True,
        "verification_hash": _secret_hash(secret),
        "verification_expires_at": clock.now() + timedelta(hours=CONFIRMATION_HOURS),
    }


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def register_account(
    *, email: str, password: str, full_name: str, phone: str | None, settings: Settings
) -> Registration:
    """Register a customer, or tell the address's owner that someone tried; see the module.

    Both outcomes make the same work — two reads, one bcrypt hash, one batch with one
    outbox message — so neither the answer nor its timing tells them apart. A new account
    waits for its confirmation code; registering an address whose account was never
    confirmed replaces that pending registration (password, name, code), so nobody can
    squat an address they cannot read mail for.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.api_core.exceptions import Conflict as GoogleConflict

    normalised = normalise_email(email)
    password_policy.ensure_acceptable(password, email=normalised)
    existing = _find_by_email(normalised)
    password_hash = passwords.hash_password(password, settings.bcrypt_cost)
    secret, pending = _confirmation_fields()
    if existing is None:
        user_id = uuid.uuid4().hex
        user = _new_user(normalised, password_hash, full_name, phone, "customer", None)
        batch = _creation_batch(user_id, {**user, **pending})
        outbox.add_to(
            batch,
            normalised,
            outbox.Template.CONFIRM_ACCOUNT,
            user_id=user_id,
            token=f"{user_id}.{secret}",
        )
        try:
            batch.commit()
            return Registration(user_id, existing=False)
        except (AlreadyExists, GoogleConflict):
            # A concurrent registration of the same address won: it is theirs now.
            existing = _find_by_email(normalised)
            if existing is None:  # pragma: no cover - the guard and user commit together
                raise
    batch = get_client().batch()
    if existing.get("pending_verification"):
        batch.update(
            get_client().collection(USERS_COLLECTION).document(existing["id"]),
            {
                **pending,
                "password_hash": password_hash,
                "full_name": full_name,
                "phone": phone,
                SEARCH_FIELD: search_prefixes(normalised, full_name),
                "updated_at": clock.now(),
            },
        )
        outbox.add_to(
            batch,
            normalised,
            outbox.Template.CONFIRM_ACCOUNT,
            user_id=existing["id"],
            token=f"{existing['id']}.{secret}",
        )
        batch.commit()
        return Registration(existing["id"], existing=False)
    outbox.add_to(batch, normalised, outbox.Template.ACCOUNT_EXISTS, user_id=existing["id"])
    batch.commit()
    return Registration(existing["id"], existing=True)


def confirm_email(code: str) -> dict[str, Any]:
    """Confirm an address with the code sent to it; the now active user, or 400."""
    from google.cloud import firestore

    from shared.transactions import run_transaction

    user_id, _, secret = code.partition(".")
    if not is_document_id(user_id) or not secret:
        raise invalid_confirmation()
    ref = get_client().collection(USERS_COLLECTION).document(user_id)

    def confirm(transaction: Transaction) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        user = snapshot.to_dict() if snapshot.exists else None
        if (
            not user
            or not user.get("pending_verification")
            or not hmac.compare_digest(str(user.get("verification_hash", "")), _secret_hash(secret))
            or user["verification_expires_at"] <= clock.now()
        ):
            raise invalid_confirmation()
        changes = {
            "pending_verification": False,
            "email_verified": True,
            "updated_at": clock.now(),
        }
        transaction.update(
            ref,
            {
                **changes,
                "verification_hash": firestore.DELETE_FIELD,
                "verification_expires_at": firestore.DELETE_FIELD,
            },
        )
        remaining = {
            k: v
            for k, v in user.items()
            if k not in ("verification_hash", "verification_expires_at")
        }
        return {"id": user_id, **remaining, **changes}

    return run_transaction(confirm, what="confirm an email address", lock_keys=[ref.path])


def get_user(user_id: str) -> dict[str, Any] | None:
    snapshot = get_client().collection(USERS_COLLECTION).document(user_id).get()
    return {"id": user_id, **(snapshot.to_dict() or {})} if snapshot.exists else None


def require_user(user_id: str) -> dict[str, Any]:
    user = get_user(user_id)
    if user is None:
        raise NotFound("The user does not exist.")
    return user


def summaries(user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{id: {email, full_name}}`` of the users that exist among ``user_ids`` (one batched
    read), for answers that name the people in them (the audit trail)."""
    wanted = sorted({user_id for user_id in user_ids if is_document_id(user_id)})
    if not wanted:
        return {}
    client = get_client()
    refs = [client.collection(USERS_COLLECTION).document(user_id) for user_id in wanted]
    return {
        snapshot.id: {
            "email": (snapshot.to_dict() or {}).get("email"),
            "full_name": (snapshot.to_dict() or {}).get("full_name"),
        }
        for snapshot in client.get_all(refs)
        if snapshot.exists
    }


def _find_by_email(normalised: str) -> dict[str, Any] | None:
    guard = get_client().collection(EMAILS_COLLECTION).document(email_key(normalised)).get()
    # Both paths make the same two reads, so an unknown email is not faster to answer.
    user_id = guard.get("user_id") if guard.exists else f"absent-{uuid.uuid4().hex}"
    return get_user(user_id)


def sign_in(*, email: str, password: str, client: ClientIp, settings: Settings) -> dict[str, Any]:
    """Check credentials under brute-force protection; the user on success, else 401/429."""
    normalised = normalise_email(email)
    # Counted before the password is checked, atomically: a refused or uncountable
    # attempt never reaches the password at all (identity/brute_force.py).
    attempt = brute_force.begin(normalised, client.limit_key)
    user = _find_by_email(normalised)
    if user is None:
        passwords.burn_equal_time(password, settings.bcrypt_cost)
        ok = False
    else:
        ok = passwords.verify_password(password, user.get("password_hash", ""))
        # An unconfirmed registration answers like a wrong password (module docstring).
        ok = ok and not user.get("pending_verification", False)
    if not ok:
        _record_failure(attempt, user, client.address, normalised)
        raise invalid_credentials()
    assert user is not None  # for mypy: ok implies a user was found
    brute_force.succeeded(attempt)
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


def _record_failure(
    attempt: brute_force.Attempt, user: dict[str, Any] | None, ip: str, normalised: str
) -> None:
    """Audit a failed attempt (already counted), and the lockout it may have started."""
    subject = user["id"] if user else None
    details = {"email_hash": email_key(normalised)[:16], "known_account": user is not None}

    def record(event: audit.AuditEvent, event_details: dict[str, Any]) -> None:
        # Nobody is signed in yet, so there is no actor; the subject is the account tried.
        audit.record(event, actor_id=None, subject_id=subject, ip=ip, details=event_details)

    record(audit.AuditEvent.LOGIN_FAILED, details)
    if attempt.filled is not None:
        record(audit.AuditEvent.LOCKOUT, {**details, "scope": attempt.filled})


def update_profile(user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the caller's own profile edits (full_name, phone); a new name is searchable."""
    user = require_user(user_id)
    updates = {**changes, "updated_at": clock.now()}
    if "full_name" in changes:
        updates[SEARCH_FIELD] = search_prefixes(user.get("email"), changes["full_name"])
    get_client().collection(USERS_COLLECTION).document(user_id).update(updates)
    return {**user, **updates}


def change_password(
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    client: ClientIp,
    settings: Settings,
) -> None:
    """Check the current password, store the new one, end every other session."""
    user = require_user(principal.user_id)
    # A stolen access token must not become a password oracle: the same counters as
    # sign-in, counted before the check.
    attempt = brute_force.begin(user["email"], client.limit_key)
    if not passwords.verify_password(current_password, user.get("password_hash", "")):
        # 403, not 401: the caller's token is fine, and a 401 would make clients sign out.
        raise Forbidden("The current password is incorrect.", code="wrong_password")
    brute_force.succeeded(attempt)
    password_policy.ensure_acceptable(new_password, email=user["email"], field="new_password")
    new_hash = passwords.hash_password(new_password, settings.bcrypt_cost)
    # The new password and the end of every mobile-SDK session, this device's included, in
    # one batch: whoever made the change to lock someone out also loses direct reads (the
    # app signs in again with the new password; sdk_revocation).
    db = get_client()
    batch = db.batch()
    batch.update(
        db.collection(USERS_COLLECTION).document(principal.user_id),
        {"password_hash": new_hash, "password_changed_at": clock.now(), "updated_at": clock.now()},
    )
    revoke_time = sdk_revocation.stage_cut_off(
        batch, db, principal.user_id, reason="password_changed"
    )
    batch.commit()
    sessions.close_all_sessions(
        principal.user_id, keep=principal.session_id, reason="password_changed"
    )
    sdk_revocation.complete_revocation(db, principal.user_id, revoke_time=revoke_time)
    audit.record(
        audit.AuditEvent.PASSWORD_CHANGED,
        actor_id=principal.user_id,
        subject_id=principal.user_id,
        ip=client.address,
    )


def sign_out_everywhere(user_id: str) -> None:
    """End every API session of the user and every mobile-SDK session (logout-all).

    The SDK cut-off first: if it fails, nothing has changed and the caller, still signed
    in, can retry; ending the API sessions first would leave the SDK reading with no
    session left to retry from.
    """
    sdk_revocation.revoke_sdk_sessions(get_client(), user_id, reason="logout_all")
    sessions.close_all_sessions(user_id, reason="logout_all")


def list_users(
    *, role: Role | None, active: bool | None, page: PageQuery, search: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of users, newest first, optionally filtered (shapes registered above).

    ``search`` keeps the users whose email or name starts with it (shared/user_search.py);
    a page may then hold fewer than ``limit`` users while ``next_cursor`` says more may follow
    (only when a search longer than the stored prefixes needed the exact check).
    """
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = get_client().collection(USERS_COLLECTION)
    query: CollectionReference | Query = collection
    if role is not None:
        query = query.where(filter=FieldFilter("role", "==", role.value))
    if active is not None:
        query = query.where(filter=FieldFilter("is_active", "==", active))
    if search is not None:
        terms = query_terms(search)
        if not terms:  # only spaces (the query model strips them, so never from a request)
            return [], None
        query = query.where(filter=FieldFilter(SEARCH_FIELD, "array_contains_any", terms))
    # __name__ breaks ties between equal timestamps so the cursor is exact.
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, query, ["created_at"], page)
    found = [{"id": s.id, **(s.to_dict() or {})} for s in snapshots]
    if search is not None:
        found = [u for u in found if matches(search, u.get("email"), u.get("full_name"))]
    return [public_user(user) for user in found], cursor


def admin_update(
    actor: Principal, user_id: str, changes: dict[str, Any], *, ip: str
) -> dict[str, Any]:
    """Change a user's role, active flag or center; effective on their next request.

    A change that alters what the user's mobile-SDK claims say (deactivation, role, center)
    also ends their SDK sessions: the rules' cut-off is written in the same batch as the
    user document, and their Firebase refresh tokens are revoked after it
    (shared/auth/sdk_revocation.py). Any call also finishes a Firebase revocation that
    failed before, so retrying the same PATCH completes it.
    """
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
    reason = _sdk_revocation_reason(user, updates)
    db = get_client()
    batch = db.batch()
    batch.update(db.collection(USERS_COLLECTION).document(user_id), updates)
    revoke_time = (
        sdk_revocation.stage_cut_off(batch, db, user_id, reason=reason) if reason else None
    )
    batch.commit()
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
    if revoke_time is not None:
        sdk_revocation.complete_revocation(db, user_id, revoke_time=revoke_time)
    else:
        sdk_revocation.complete_if_pending(db, user_id)
    return require_user(user_id)


def _sdk_revocation_reason(
    user: dict[str, Any], updates: dict[str, Any]
) -> sdk_revocation.RevocationReason | None:
    """Why ``updates`` must end the user's mobile-SDK sessions, or None when the claims
    their Firebase tokens carry stay true (the most serious reason when several apply)."""
    if updates.get("is_active") is False and user.get("is_active", False):
        return "deactivated"
    if "role" in updates and updates["role"] != user.get("role"):
        return "role_changed"
    if "service_center_id" in updates and updates["service_center_id"] != user.get(
        "service_center_id"
    ):
        return "center_changed"
    return None


def touch_last_login() -> dict[str, Any]:
    """The user-document fields a successful sign-in sets (written with the session)."""
    return {"last_login": clock.now()}
