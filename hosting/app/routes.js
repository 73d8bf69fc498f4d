// @ts-check
/** Which page a path shows, for which roles. */

import { html } from "./html.js";
import { PageHeader } from "./components.js";
import { can } from "./permissions.js";
import { OverviewPage } from "./pages/overview.js";
import { VehiclesPage } from "./pages/vehicles.js";
import { VehiclePage } from "./pages/vehicle.js";
import { BookingsPage } from "./pages/bookings.js";
import { DayViewPage } from "./pages/dayview.js";
import { UsersPage } from "./pages/users.js";
import { AuditPage } from "./pages/audit.js";
import { AnalyticsPage } from "./pages/analytics.js";

/** @param {{message: string}} props */
function Unavailable({ message }) {
  return html`<section>
    <${PageHeader} title="Not available" />
    <p>${message}</p>
    <p><a href="/">Go to the overview</a></p>
  </section>`;
}

/**
 * @param {string} path
 * @param {{role: string}} user
 * @returns {{component: any, props: Record<string, unknown>, title: string, nav: string, key: string}}
 */
export function routeFor(path, user) {
  const vehicle = path.match(/^\/vehicles\/([A-Za-z0-9_-]+)$/);
  if (path === "/") return { component: OverviewPage, props: {}, title: "Overview", nav: "/", key: "overview" };
  if (path === "/vehicles") return { component: VehiclesPage, props: {}, title: "Vehicles", nav: "/vehicles", key: "vehicles" };
  if (vehicle) return { component: VehiclePage, props: { vehicleId: vehicle[1] }, title: "Vehicle", nav: "/vehicles", key: `vehicle-${vehicle[1]}` };
  if (path === "/bookings") return { component: BookingsPage, props: {}, title: "Bookings", nav: "/bookings", key: "bookings" };
  const denied = (/** @type {string} */ title) => ({
    component: Unavailable,
    props: { message: "Your role does not include this page." },
    title,
    nav: "",
    key: `denied-${path}`,
  });
  if (path === "/bookings/day") {
    return user.role === "customer" ? denied("Day view") : { component: DayViewPage, props: {}, title: "Day view", nav: "/bookings/day", key: "day" };
  }
  if (path === "/users") return can(user, "users:read") ? { component: UsersPage, props: {}, title: "Users", nav: "/users", key: "users" } : denied("Users");
  if (path === "/audit") return can(user, "audit:read") ? { component: AuditPage, props: {}, title: "Audit log", nav: "/audit", key: "audit" } : denied("Audit log");
  if (path === "/analytics") {
    return can(user, "monitoring:read") ? { component: AnalyticsPage, props: {}, title: "Analytics", nav: "/analytics", key: "analytics" } : denied("Analytics");
  }
  return { component: Unavailable, props: { message: "There is no page at this address." }, title: "Not found", nav: "", key: `missing-${path}` };
}
