"""Roles, permissions, and the table that joins them.

Permissions are what routes ask for; roles are what users hold. Keeping routes on
permissions means a new role is one table row, not a hunt through handlers. The same table
is printed in docs/rbac.md and drives the role x route test matrix.
"""

from __future__ import annotations

from enum import StrEnum


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
    BOOKINGS_RESCHEDULE = "bookings:reschedule"
    MONITORING_READ = "monitoring:read"
    AUDIT_READ = "audit:read"
    # Decide who gets a VIN registered twice (vehicle.claims): admins only.
    VIN_CLAIMS_RESOLVE = "vin_claims:resolve"


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
            Permission.BOOKINGS_RESCHEDULE,
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
            Permission.BOOKINGS_RESCHEDULE,
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
# Every route states who may call it as a required argument of its declaration
# (``@app.get("/x", access=...)``, see shared.http.App.route): a route without one cannot be
# registered, and the rule sits on the same line as the path it guards.


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

    def __repr__(self) -> str:
        return f"AccessRule({self.describe()})"


# Anonymous callers allowed (health probes, sign-in).
PUBLIC = AccessRule(public=True)
# Any signed-in user, whatever the role (their own sessions, for instance).
SIGNED_IN = AccessRule()

# What a route declaration accepts as ``access``: a permission (the usual case), a role
# (``Role.ADMIN``: only that role), or a rule (PUBLIC, SIGNED_IN, roles(...)).
Access = Permission | Role | AccessRule


def roles(*allowed: Role) -> AccessRule:
    """Only callers holding one of ``allowed`` (when a rule really is about the role)."""
    if not allowed:
        raise ValueError("roles() needs at least one role")
    return AccessRule(roles=frozenset(allowed))


def as_access_rule(access: Access) -> AccessRule:
    """The rule a route declaration's ``access`` stands for; TypeError for anything else.

    A missing or mistyped rule (``None``, a string, a handler) fails when the module that
    declares the route is imported, so no route can be registered without a decision.
    """
    if isinstance(access, AccessRule):
        return access
    if isinstance(access, Permission):
        return AccessRule(permissions=frozenset({access}))
    if isinstance(access, Role):
        return AccessRule(roles=frozenset({access}))
    raise TypeError(
        f"access must be a Permission, a Role, PUBLIC, SIGNED_IN or roles(...), got {access!r}"
    )
