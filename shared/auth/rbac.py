"""Roles, permissions, and the table that joins them.

Permissions are what routes ask for; roles are what users hold. Keeping routes on
permissions means a new role is one table row, not a hunt through handlers. The same table
is printed in docs/rbac.md and drives the role x route test matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar


class Role(StrEnum):
    ADMIN = "admin"
    CUSTOMER = "customer"
    SERVICE_CENTER = "service_center"
    MECHANIC = "mechanic"
    VIEWER = "viewer"


class Permission(StrEnum):
    PROFILE_READ = "profile:read"
    PROFILE_WRITE = "profile:write"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    VEHICLES_READ = "vehicles:read"
    VEHICLES_WRITE = "vehicles:write"
    TELEMETRY_WRITE = "telemetry:write"
    TELEMETRY_READ = "telemetry:read"
    SERVICE_RECORDS_WRITE = "service_records:write"
    CENTERS_READ = "centers:read"
    CENTERS_MANAGE = "centers:manage"
    BOOKINGS_READ = "bookings:read"
    BOOKINGS_CREATE = "bookings:create"
    BOOKINGS_MANAGE = "bookings:manage"
    BOOKINGS_WORK = "bookings:work"
    BOOKINGS_CANCEL = "bookings:cancel"
    MONITORING_READ = "monitoring:read"
    AUDIT_READ = "audit:read"


_EVERYONE = {
    Permission.PROFILE_READ,
    Permission.PROFILE_WRITE,
    Permission.CENTERS_READ,
    Permission.VEHICLES_READ,
    Permission.BOOKINGS_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CUSTOMER: frozenset(
        _EVERYONE
        | {
            Permission.VEHICLES_WRITE,
            Permission.TELEMETRY_WRITE,
            Permission.TELEMETRY_READ,
            Permission.SERVICE_RECORDS_WRITE,
            Permission.BOOKINGS_CREATE,
            Permission.BOOKINGS_CANCEL,
        }
    ),
    Role.SERVICE_CENTER: frozenset(
        _EVERYONE
        | {
            Permission.TELEMETRY_READ,
            Permission.SERVICE_RECORDS_WRITE,
            Permission.BOOKINGS_MANAGE,
            Permission.BOOKINGS_WORK,
            Permission.BOOKINGS_CANCEL,
        }
    ),
    Role.MECHANIC: frozenset(_EVERYONE | {Permission.TELEMETRY_READ, Permission.BOOKINGS_WORK}),
    # A viewer sees the fleet and the bookings for reporting, never personal data (the
    # scoping helpers redact it) and never changes anything.
    Role.VIEWER: frozenset(_EVERYONE | {Permission.TELEMETRY_READ, Permission.MONITORING_READ}),
}


def has_permission(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


# --- Route access declarations -------------------------------------------------------------
# Decorators attach an AccessRule to the handler; shared.http reads it when the route is
# registered. A route without any declaration requires a signed-in user (secure default).

F = TypeVar("F", bound=Callable[..., Any])
ACCESS_ATTRIBUTE = "__pmi_access__"


class AccessRule:
    """Who may call a route: anyone, any signed-in user, some roles, or some permissions."""

    def __init__(
        self,
        *,
        public: bool = False,
        roles: frozenset[Role] | None = None,
        permissions: frozenset[Permission] | None = None,
    ) -> None:
        self.public = public
        self.roles = roles
        self.permissions = permissions

    def allows(self, role: Role) -> bool:
        if self.public:
            return True
        if self.roles is not None and role not in self.roles:
            return False
        if self.permissions is not None:
            return all(has_permission(role, p) for p in self.permissions)
        return True

    def describe(self) -> str:
        if self.public:
            return "public"
        parts = []
        if self.roles is not None:
            parts.append("roles: " + ", ".join(sorted(r.value for r in self.roles)))
        if self.permissions is not None:
            parts.append("permission: " + ", ".join(sorted(p.value for p in self.permissions)))
        return "; ".join(parts) or "signed in"


SIGNED_IN = AccessRule()


def _attach(rule: AccessRule) -> Callable[[F], F]:
    def decorate(handler: F) -> F:
        setattr(handler, ACCESS_ATTRIBUTE, rule)
        return handler

    return decorate


def public(handler: F) -> F:
    """Mark a route as open to anonymous callers."""
    return _attach(AccessRule(public=True))(handler)


def require_role(*roles: Role) -> Callable[[F], F]:
    """Only callers holding one of ``roles`` may call the route (others get 403)."""
    return _attach(AccessRule(roles=frozenset(roles)))


def require_permission(*permissions: Permission) -> Callable[[F], F]:
    """Only callers whose role grants every one of ``permissions`` (others get 403)."""
    return _attach(AccessRule(permissions=frozenset(permissions)))


def access_rule_of(handler: Callable[..., Any]) -> AccessRule:
    rule = getattr(handler, ACCESS_ATTRIBUTE, None)
    return rule if isinstance(rule, AccessRule) else SIGNED_IN
