// @ts-check
/**
 * Which role holds which permission: a copy of shared/auth/rbac.py's ROLE_PERMISSIONS (a
 * test compares the two), used only to decide what to show. The API enforces the real rule;
 * a button shown here by mistake would still get a 403.
 */

const EVERYONE = ["profile:read", "profile:write", "centers:read", "vehicles:read", "bookings:read"];

/** @type {Record<string, string[]>} */
export const ROLE_PERMISSIONS = {
  admin: [
    "profile:read", "profile:write", "users:read", "users:manage", "vehicles:read", "vehicles:write",
    "telemetry:write", "telemetry:read", "service_records:write", "centers:read", "centers:manage",
    "bookings:read", "bookings:create", "bookings:manage", "bookings:work", "bookings:cancel",
    "bookings:reschedule", "monitoring:read", "audit:read", "vin_claims:resolve",
  ],
  customer: [
    ...EVERYONE, "vehicles:write", "telemetry:write", "telemetry:read", "service_records:write",
    "bookings:create", "bookings:cancel", "bookings:reschedule",
  ],
  service_center: [
    ...EVERYONE, "telemetry:read", "service_records:write", "bookings:manage", "bookings:work", "bookings:cancel",
    "bookings:reschedule",
  ],
  mechanic: [...EVERYONE, "telemetry:read", "bookings:work"],
  viewer: [...EVERYONE, "telemetry:read", "monitoring:read"],
};

export const ROLE_LABELS = /** @type {Record<string, string>} */ ({
  admin: "Admin",
  customer: "Customer",
  service_center: "Service center",
  mechanic: "Mechanic",
  viewer: "Viewer",
});

/**
 * @param {{role: string} | null | undefined} user
 * @param {string} permission
 */
export function can(user, permission) {
  return !!user && (ROLE_PERMISSIONS[user.role] ?? []).includes(permission);
}

/** Roles whose work is one service center's (the API scopes them to it). */
export const CENTER_ROLES = new Set(["service_center", "mechanic"]);

/**
 * The pages a role may open, in navigation order.
 * @param {{role: string} | null | undefined} user
 * @returns {{path: string, label: string}[]}
 */
export function pagesFor(user) {
  if (!user) return [];
  const pages = [
    { path: "/", label: "Overview" },
    { path: "/vehicles", label: "Vehicles" },
    { path: "/bookings", label: "Bookings" },
  ];
  if (user.role !== "customer") pages.push({ path: "/bookings/day", label: "Day view" });
  if (can(user, "users:read")) pages.push({ path: "/users", label: "Users" });
  if (can(user, "audit:read")) pages.push({ path: "/audit", label: "Audit log" });
  if (can(user, "monitoring:read")) pages.push({ path: "/analytics", label: "Analytics" });
  return pages;
}
