// The dashboard's pure rules and the SDK calls they read: the start/no-show windows (a copy
// of booking/lifecycle.py's timing_problem), how an audit entry reads, the performance
// charts built from /stats/performance, and the new calls' requests and typed errors.

import assert from "node:assert/strict";
import { test } from "node:test";

import { NotFoundError } from "../../../hosting/sdk/index.js";
import { actionWindow, nextWindowChange } from "../../../hosting/app/action_windows.js";
import { describeAudit, personName } from "../../../hosting/app/audit_text.js";
import { performanceCharts } from "../../../hosting/app/perf_charts.js";
import { envelope, json, makeClient, tokenReply } from "./fakes.js";

const MINUTE = 60_000;
// A 10:00-11:00 booking in Berlin (summer time), as the API returns it.
const booking = { start: "2026-06-01T10:00:00+02:00", end: "2026-06-01T11:00:00+02:00" };
const at = (/** @type {string} */ iso) => Date.parse(iso);

test("start is possible from 30 minutes before the slot until its end, as the API rules", () => {
  assert.deepEqual(actionWindow("start", booking, at("2026-06-01T09:29:59.999+02:00")), {
    allowed: false,
    code: "start_too_early",
    at: at("2026-06-01T09:30:00+02:00"),
  });
  assert.equal(actionWindow("start", booking, at("2026-06-01T09:30:00+02:00")).allowed, true);
  assert.equal(actionWindow("start", booking, at("2026-06-01T10:59:59+02:00")).allowed, true);
  assert.deepEqual(actionWindow("start", booking, at("2026-06-01T11:00:00+02:00")), {
    allowed: false,
    code: "start_too_late",
    at: at("2026-06-01T11:00:00+02:00"),
  });
});

test("a no-show can be marked from 15 minutes after the start, and other actions any time", () => {
  const early = actionWindow("no_show", booking, at("2026-06-01T08:14:59Z"));
  assert.equal(early.code, "no_show_too_early");
  assert.equal(early.at, at("2026-06-01T08:15:00Z"));
  assert.equal(actionWindow("no_show", booking, at("2026-06-01T08:15:00Z")).allowed, true);
  assert.equal(actionWindow("no_show", booking, at("2026-06-02T08:00:00Z")).allowed, true);
  for (const action of ["confirm", "complete", "cancel", "reschedule", "assign"]) {
    assert.equal(actionWindow(action, booking, 0).allowed, true, action);
  }
});

test("the next change of a window is the nearest boundary ahead", () => {
  const start = at(booking.start);
  assert.equal(nextWindowChange(booking, start - 60 * MINUTE), start - 30 * MINUTE);
  assert.equal(nextWindowChange(booking, start), start + 15 * MINUTE);
  assert.equal(nextWindowChange(booking, start + 20 * MINUTE), at(booking.end));
  assert.equal(nextWindowChange(booking, at(booking.end)), null);
});

test("an audit entry reads as what happened, to whom and by whom", () => {
  const people = { admin1: { email: "root@example.test", full_name: "Root Admin" }, u2: { email: "pat@example.test", full_name: null } };
  const change = describeAudit({ event: "role_changed", actor_id: "admin1", subject_id: "u2", details: { from: "customer", to: "service_center" } }, people);
  assert.deepEqual(change, { title: "Role changed", detail: "from customer to service center", actor: "Root Admin", warning: false });
  const failed = describeAudit({ event: "login_failed", actor_id: null, subject_id: "u2", details: { known_account: true } }, people);
  assert.equal(failed.actor, "nobody signed in");
  assert.equal(failed.warning, true);
  assert.equal(describeAudit({ event: "password_changed", actor_id: "u2", subject_id: "u2", details: {} }, people).actor, "themselves");
  assert.equal(describeAudit({ event: "something_new", actor_id: null, subject_id: null, details: {} }, {}).title, "something new");
  assert.equal(personName("u2", people), "pat@example.test");
  assert.equal(personName("0123456789abcdef", {}), "user 01234567…");
});

test("performance charts: one line per function, error rate as 5xx of requests per minute", () => {
  const series = (requests, errors5xx, p50, p95) => ({
    t: [1_780_000_000, 1_780_000_060],
    requests,
    errors_4xx: [0, 0],
    errors_5xx: errors5xx,
    rate_limited: [0, 0],
    cold_starts: [0, 0],
    p50_ms: p50,
    p95_ms: p95,
    p99_ms: [null, null],
  });
  const figures = (requests, errorRate, p50, p95, perMinute) => ({
    requests,
    errors: { total: 0, "4xx": 0, "5xx": 0 },
    rate_limited: 0,
    cold_starts: 0,
    error_rate: errorRate,
    latency_ms: { p50, p95, p99: null, mean: null },
    routes: {},
    series: perMinute,
  });
  const report = {
    window: "5m",
    series: series([12, 0], [1, 0], [5, null], [9, null]),
    functions: {
      vehicles: figures(8, 0, 7, 12, series([8, 0], [0, 0], [7, null], [12, null])),
      auth: figures(4, 0.25, 3, 40, series([4, 0], [1, 0], [3, null], [40, null])),
    },
  };
  const charts = performanceCharts(/** @type {any} */ (report));
  assert.deepEqual(charts.times, [1_780_000_000_000, 1_780_000_060_000]);
  assert.deepEqual(charts.requests.map((s) => [s.label, s.values]), [["auth", [4, 0]], ["vehicles", [8, 0]]]);
  assert.deepEqual(charts.errorRate.map((s) => s.values), [[25, null], [0, null]]);
  assert.deepEqual(charts.p95.map((s) => s.values), [[40, null], [12, null]]);
  assert.deepEqual(charts.functions.map((f) => [f.name, f.errorRate, f.p95]), [["auth", 25, 40], ["vehicles", 0, 12]]);
  assert.notEqual(charts.requests[0].color, charts.requests[1].color);
  assert.deepEqual(performanceCharts(/** @type {any} */ ({ series: { t: [] }, functions: {} })).requests, []);
});

/** A signed-in client whose API answers every other call with `answer(call)`. */
async function signedIn(answer) {
  const made = makeClient({
    handler: async (call) => (call.path === "/api/auth/login" ? json(200, tokenReply({ user: { role: "admin" } })) : answer(call)),
  });
  await made.client.login("root@example.test", "pw");
  made.calls.length = 0;
  return made;
}

test("the dashboard's new calls send their filters as the routes take them", async () => {
  const { client, calls } = await signedIn(() => json(200, { items: [], next_cursor: null, people: {} }));
  await client.audit.list({ subject_id: "u2", event: "role_changed", from: "2026-06-01T00:00:00+02:00", limit: 20 });
  await client.users.list({ q: "Ada Love", role: "customer", active: true });
  await client.bookings.list({ center_id: "c1", date: "2026-03-29" });
  await client.centers.team("c1");
  await client.centers.suggestions("c 1");
  await client.monitoring.performance({ window: "1h", function: "auth" });
  await client.monitoring.database();
  assert.deepEqual(
    calls.map((c) => [c.path, c.query]),
    [
      ["/api/auth/audit", { subject_id: "u2", event: "role_changed", from: "2026-06-01T00:00:00+02:00", limit: "20" }],
      ["/api/auth/users", { q: "Ada Love", role: "customer", active: "true" }],
      ["/api/bookings", { center_id: "c1", date: "2026-03-29" }],
      ["/api/bookings/centers/c1/team", {}],
      ["/api/bookings/centers/c%201/suggestions", {}],
      ["/api/monitoring/stats/performance", { window: "1h", function: "auth" }],
      ["/api/monitoring/stats/database", {}],
    ],
  );
});

test("a deployment without the statistics routes answers a typed 404, never retried", async () => {
  const { client, calls } = await signedIn(() => envelope(404, "not_found", "No route matches this path."));
  await assert.rejects(client.monitoring.performance({ window: "5m" }), (error) => error instanceof NotFoundError && error.code === "not_found");
  assert.equal(calls.length, 1);
});
