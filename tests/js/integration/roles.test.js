// The SDK against the real local stack (every function behind the Hosting gateway, the
// Firestore emulator), signed in as one role. Driven by tests/test_sdk_integration.py,
// which seeds the demo data and passes:
//   PMI_BASE_URL   the gateway, e.g. http://127.0.0.1:5123
//   PMI_ROLE       admin | customer | service_center | mechanic | viewer
//   PMI_EMAIL, PMI_PASSWORD
//   PMI_WORLD      JSON: {"centers": [...], "vehicles": [...], "bookings": [...], "users": {...}}

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ForbiddenError,
  NotFoundError,
  SessionExpiredError,
  ValidationError,
  createClient,
  manualNetwork,
  memoryStorage,
} from "../../../hosting/sdk/index.js";

const BASE = process.env.PMI_BASE_URL;
const ROLE = process.env.PMI_ROLE;
const EMAIL = process.env.PMI_EMAIL;
const PASSWORD = process.env.PMI_PASSWORD;
const WORLD = JSON.parse(process.env.PMI_WORLD ?? "{}");
if (!BASE || !ROLE || !EMAIL || !PASSWORD) throw new Error("run through tests/test_sdk_integration.py (PMI_* variables)");

const only = (/** @type {string[]} */ ...roles) => ({ skip: roles.includes(ROLE) ? false : `not for ${ROLE}` });

async function signedIn(options = {}) {
  const client = createClient({ baseUrl: BASE, storage: memoryStorage(), ...options });
  const reply = await client.login(EMAIL, PASSWORD);
  return { client, reply };
}

test("signs in with the role's account and reads its own profile", async () => {
  const { client, reply } = await signedIn();
  assert.equal(reply.user.role, ROLE);
  assert.equal(typeof reply.firebase_token, "string");
  const me = await client.auth.me();
  assert.equal(me.email, EMAIL);
  assert.equal(client.user?.id, me.id);
});

test("public health routes of every function answer without a session", async () => {
  const client = createClient({ baseUrl: BASE });
  assert.equal((await client.auth.health()).function, "auth");
  assert.equal((await client.vehicles.health()).function, "vehicles");
  assert.equal((await client.bookings.health()).function, "bookings");
  assert.equal((await client.monitoring.live()).status, "ok");
  assert.equal((await client.monitoring.ready()).status, "ready");
  assert.ok(["ok", "degraded"].includes((await client.monitoring.health()).status));
});

test("refresh rotates the tokens; the session keeps working", async () => {
  const { client } = await signedIn();
  const first = client.session.current;
  await client.refresh();
  const second = client.session.current;
  assert.notEqual(second?.refresh_token, first?.refresh_token);
  assert.notEqual(second?.access_token, first?.access_token);
  assert.equal((await client.auth.me()).email, EMAIL);
});

test("a reused refresh token signs out cleanly with the server's reason", async () => {
  const { client } = await signedIn();
  const stolen = client.session.current?.refresh_token;
  await client.refresh(); // the legitimate client rotates
  // A second party presents the old token after the grace window would have mattered:
  // simulate by rotating twice more so the stolen one is two generations old.
  await client.refresh();
  const thief = createClient({ baseUrl: BASE });
  const reply = await fetch(`${BASE}/api/auth/refresh`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: stolen }),
  });
  assert.equal(reply.status, 401);
  assert.equal((await reply.json()).error.code, "refresh_reused");
  void thief;
  // The server revoked the whole session: the legitimate client is signed out on its next refresh.
  /** @type {string[]} */
  const reasons = [];
  client.on("session", (change) => reasons.push(`${change.reason}:${change.code ?? ""}`));
  await assert.rejects(client.refresh(), (error) => error instanceof SessionExpiredError && error.code === "session_revoked" && !!error.requestId);
  assert.equal(client.signedIn, false);
  assert.deepEqual(reasons, ["expired:session_revoked"]);
});

test("errors carry the envelope's code, message and request id", async () => {
  const { client } = await signedIn();
  await assert.rejects(client.vehicles.get("no-such-vehicle"), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "not_found");
    assert.match(error.requestId ?? "", /^[0-9a-f]{32}$/);
    return true;
  });
  await assert.rejects(client.request("GET", "/api/vehicle/abc"), (error) => error instanceof NotFoundError && error.code === "not_found");
  await assert.rejects(client.bookings.list({ status: /** @type {any} */ ("lost") }), (error) => error instanceof ValidationError && error.status === 422 && error.details.length > 0);
});

test("paginate walks every page of a list", async () => {
  const { client } = await signedIn();
  const centers = [];
  for await (const center of client.paginate(client.centers.list, { limit: 1 })) centers.push(center.id);
  assert.deepEqual(new Set(centers), new Set(WORLD.centers));
});

test("admin: sees every user and vehicle, and manages accounts", only("admin"), async () => {
  const { client } = await signedIn();
  const users = await client.users.list({ limit: 100 });
  assert.ok(users.items.length >= 5);
  const viewer = users.items.find((u) => u.role === "viewer");
  assert.ok(viewer);
  assert.equal((await client.users.get(viewer.id)).email, viewer.email);
  const vehicles = await client.vehicles.list();
  assert.equal(vehicles.items.length, WORLD.vehicles.length);
  const alerts = await client.vehicles.alerts({ status: "open" });
  assert.ok(alerts.items.length >= 1);
  const center = await client.centers.get(WORLD.centers[0]);
  assert.ok(center.services.length > 0);
});

test("customer: own vehicles, health with findings, telemetry, and an idempotent booking", only("customer"), async () => {
  const { client } = await signedIn();
  const vehicles = await client.vehicles.list();
  assert.deepEqual(new Set(vehicles.items.map((v) => v.id)), new Set(WORLD.vehicles));
  const report = await client.vehicles.healthReport(WORLD.vehicles[0]);
  assert.ok(report.findings.some((f) => f.rule_id.startsWith("battery.")));
  const telemetry = await client.vehicles.telemetry(WORLD.vehicles[0], { limit: 5 });
  assert.equal(telemetry.items.length, 5);
  assert.ok(telemetry.next_cursor);
  const records = await client.vehicles.serviceRecords(WORLD.vehicles[0]);
  assert.deepEqual(records.items, []);

  const slot = await firstFreeSlot(client, WORLD.centers[0], "oil_change");
  const body = { vehicle_id: WORLD.vehicles[1], center_id: WORLD.centers[0], service_type: "oil_change", start: slot };
  const key = crypto.randomUUID();
  const first = await client.bookings.create(body, { idempotencyKey: key, offline: "fail" });
  const again = await client.bookings.create(body, { idempotencyKey: key, offline: "fail" });
  assert.ok(!("queued" in first) && !("queued" in again));
  assert.equal(/** @type {any} */ (again).id, /** @type {any} */ (first).id, "the server recognised the repeated key");
  const cancelled = await client.bookings.cancel(/** @type {any} */ (first).id, "Plans changed");
  assert.equal(/** @type {any} */ (cancelled).status, "cancelled");
  const suggestions = await client.bookings.suggestions();
  assert.ok(Array.isArray(suggestions.suggestions));
});

test("customer: an offline booking waits in the queue and is made when the network returns", only("customer"), async () => {
  const network = manualNetwork(true);
  const { client } = await signedIn({ network });
  const slot = await firstFreeSlot(client, WORLD.centers[0], "tyre_rotation");
  network.set(false);
  const queued = await client.bookings.create({ vehicle_id: WORLD.vehicles[1], center_id: WORLD.centers[0], service_type: "tyre_rotation", start: slot });
  assert.equal(/** @type {any} */ (queued).queued, true);
  assert.equal(client.queue.state.pending, 1);
  /** @type {any[]} */
  const replayed = [];
  client.on("replayed", (event) => replayed.push(event.result));
  network.set(true);
  await client.queue.flush();
  assert.equal(client.queue.state.pending, 0);
  assert.equal(replayed.length, 1);
  const booking = await client.bookings.get(replayed[0].id);
  assert.equal(booking.service_type, "tyre_rotation");
  await client.bookings.cancel(booking.id);
});

test("service_center: runs its center's bookings and may not read accounts", only("service_center"), async () => {
  const { client } = await signedIn();
  const bookings = await client.bookings.list({ center_id: WORLD.centers[0] });
  assert.ok(bookings.items.length >= 1);
  assert.ok(bookings.items.every((b) => b.center_id === WORLD.centers[0]));
  const other = await client.bookings.list({ center_id: WORLD.centers[1] });
  assert.deepEqual(other.items, [], "another center's bookings are out of scope");
  await assert.rejects(client.users.list(), (error) => error instanceof ForbiddenError && error.status === 403);
  const availability = await client.centers.availability(WORLD.centers[0], { date: tomorrow(), service: "battery_check" });
  assert.equal(availability.time_zone, "Europe/Berlin");
});

test("mechanic: reads the center's bookings but may not confirm them", only("mechanic"), async () => {
  const { client } = await signedIn();
  const bookings = await client.bookings.list();
  assert.ok(bookings.items.every((b) => b.center_id === WORLD.centers[0]));
  const target = WORLD.bookings[0];
  await assert.rejects(client.bookings.confirm(target, { offline: "fail" }), (error) => error instanceof ForbiddenError);
  await assert.rejects(client.users.list(), (error) => error instanceof ForbiddenError);
});

test("viewer: reads everything without personal data and changes nothing", only("viewer"), async () => {
  const { client } = await signedIn();
  const vehicles = await client.vehicles.list();
  assert.ok(vehicles.items.length >= 1);
  assert.ok(vehicles.items.every((v) => !("vin" in v) && !("plate" in v) && !("nickname" in v)));
  // What the SDK's types say is absent for viewers (hosting/sdk/api.js): no owner, no links.
  assert.ok(vehicles.items.every((v) => !("owner_id" in v) && !("center_ids" in v)));
  const bookings = await client.bookings.list();
  assert.ok(bookings.items.length >= 1);
  assert.ok(bookings.items.every((b) => !("customer_id" in b) && !("vehicle_id" in b) && !("mechanic_id" in b)));
  await assert.rejects(client.bookings.cancel(WORLD.bookings[0], null, { offline: "fail" }), (error) => error instanceof ForbiddenError);
  await assert.rejects(client.users.list(), (error) => error instanceof ForbiddenError);
});

test("the monitoring statistics: admins and viewers read them, other roles are refused", async () => {
  const { client } = await signedIn();
  const { monitoring } = client;
  if (!["admin", "viewer"].includes(ROLE)) {
    for (const call of [monitoring.healthDetailed, monitoring.metrics, monitoring.database, () => monitoring.performance()]) {
      await assert.rejects(call(), (error) => error instanceof ForbiddenError && error.status === 403);
    }
    return;
  }
  const health = await monitoring.healthDetailed();
  assert.ok(["ok", "degraded"].includes(health.status));
  assert.equal(health.status === "degraded", health.reasons.length > 0);
  assert.equal(health.performance.window, "5m");
  assert.equal(typeof health.performance.available, "boolean");
  assert.deepEqual(Object.keys(health.thresholds).sort(), ["max_error_rate", "max_p95_ms", "min_requests"]);
  assert.equal(health.dependencies[0].name, "firestore");

  const database = await monitoring.database();
  assert.ok(database.collections.users.count >= 5);
  assert.equal(database.users_by_role.viewer.count, 1);
  assert.ok(database.open_alerts_by_severity.high.count >= 1, "the demo vehicle's findings opened alerts");
  const statuses = Object.values(database.bookings_by_status).reduce((sum, figure) => sum + figure.count, 0);
  assert.equal(statuses, database.collections.bookings.count, "every booking has one of the statuses counted");
  assert.ok(database.telemetry_readings_last_24h.count >= 0);

  const report = await monitoring.performance({ window: "5m" });
  assert.equal(report.series.t.length, 5);
  assert.equal(report.step_seconds, 60);
  for (const column of Object.values(report.series)) assert.equal(column.length, 5);
  for (const figures of Object.values(report.functions)) assert.equal(figures.series.requests.length, 5);
  const auth = await monitoring.performance({ window: "1h", function: "auth" });
  assert.equal(auth.series.t.length, 60);
  assert.ok(Object.keys(auth.functions).every((name) => name === "auth"));
  await assert.rejects(monitoring.performance({ window: /** @type {any} */ ("7d") }), (error) => error instanceof ValidationError && error.status === 422);

  const metrics = await monitoring.metrics();
  assert.equal(metrics.configuration.function, "monitoring");
  assert.ok(metrics.process.rss_bytes > 0 && metrics.system.cpu_count >= 1);
});

// The routes the dashboard's Users page, day view and assign dialog read, for each role.
const ALLOWED = {
  audit: ["admin"],
  team: ["admin", "service_center", "mechanic"],
  centerSuggestions: ["admin", "service_center"],
};

test("the audit trail and the user search answer admins only", async () => {
  const { client } = await signedIn();
  if (!ALLOWED.audit.includes(ROLE)) {
    await assert.rejects(client.audit.list(), (error) => error instanceof ForbiddenError);
    await assert.rejects(client.users.list({ q: "demo" }), (error) => error instanceof ForbiddenError);
    return;
  }
  const trail = await client.audit.list({ event: "login_succeeded", limit: 5 });
  assert.ok(trail.items.length >= 1 && trail.items.every((e) => e.event === "login_succeeded"));
  const me = client.user?.id ?? "";
  const mine = await client.audit.list({ subject_id: me, limit: 3 });
  assert.ok(mine.items.every((e) => e.subject_id === me));
  assert.equal(mine.people[me]?.email, EMAIL);
  const found = await client.users.list({ q: "DEMO", role: "mechanic" });
  assert.deepEqual(found.items.map((u) => u.email), ["mechanic@demo.pmi.dev"]);
  assert.deepEqual((await client.users.list({ q: "demo mech" })).items.map((u) => u.full_name), ["Demo Mechanic"]);
});

test("a center's team by name: its people and admins; another center's staff get 404", async () => {
  const { client } = await signedIn();
  if (!ALLOWED.team.includes(ROLE)) {
    await assert.rejects(client.centers.team(WORLD.centers[0]), (error) => error instanceof ForbiddenError);
    return;
  }
  const team = await client.centers.team(WORLD.centers[0]);
  assert.deepEqual(team.items.map((m) => [m.id, m.full_name, m.active]), [[WORLD.users.mechanic, "Demo Mechanic", true]]);
  assert.ok(team.items.every((m) => !("email" in m) && !("phone" in m)));
  if (ROLE !== "admin") {
    await assert.rejects(client.centers.team(WORLD.centers[1]), (error) => error instanceof NotFoundError);
  }
});

test("the center's suggestions: its service-center staff and admins", async () => {
  const { client } = await signedIn();
  if (!ALLOWED.centerSuggestions.includes(ROLE)) {
    await assert.rejects(client.centers.suggestions(WORLD.centers[0]), (error) => error instanceof ForbiddenError);
    return;
  }
  const answer = await client.centers.suggestions(WORLD.centers[0]);
  assert.equal(answer.time_zone, "Europe/Berlin");
  assert.ok(Array.isArray(answer.suggestions));
  if (ROLE === "service_center") {
    await assert.rejects(client.centers.suggestions(WORLD.centers[1]), (error) => error instanceof NotFoundError);
  }
});

test("bookings of one local day at the center", only("admin", "service_center", "mechanic"), async () => {
  const { client } = await signedIn();
  const [seeded] = (await client.bookings.list({ center_id: WORLD.centers[0] })).items.filter((b) => b.id === WORLD.bookings[0]);
  assert.ok(seeded, "the demo booking is in scope");
  const day = seeded.start.slice(0, 10); // the center-local date: starts carry the center's offset
  const listed = await client.bookings.list({ center_id: WORLD.centers[0], date: day });
  assert.ok(listed.items.some((b) => b.id === seeded.id));
  assert.ok(listed.items.every((b) => b.start.startsWith(day)));
  await assert.rejects(client.bookings.list({ date: day, from: day }), (error) => error instanceof ValidationError);
});

test("logout ends the session on the server", async () => {
  const { client } = await signedIn();
  const refreshToken = client.session.current?.refresh_token;
  await client.logout();
  const reply = await fetch(`${BASE}/api/auth/refresh`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  assert.equal(reply.status, 401);
});

function tomorrow() {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}

/**
 * The first free slot of `service` at the center in the next two weeks.
 * @param {import("../../../hosting/sdk/api.js").Pmi} client
 * @param {string} centerId
 * @param {string} service
 */
async function firstFreeSlot(client, centerId, service) {
  for (let day = 1; day <= 14; day += 1) {
    const date = new Date(Date.now() + day * 86_400_000).toISOString().slice(0, 10);
    const { slots } = await client.centers.availability(centerId, { date, service });
    const free = slots.find((s) => s.remaining > 0);
    if (free) return free.start;
  }
  throw new Error(`no free ${service} slot in two weeks`);
}
