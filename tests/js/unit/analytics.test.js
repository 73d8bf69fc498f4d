// The Analytics page's and the health card's pure rules, on answers of the monitoring
// function's shapes (docs/monitoring.md): bookings per day, open alerts per day by severity,
// the aggregation groups, the health card's facts against the thresholds; and the SDK's
// monitoring calls' requests.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bookingsPerDay,
  dateRange,
  groupCounts,
  openAlertsPerDay,
  openNowComparison,
} from "../../../hosting/app/analytics_data.js";
import { duration, percent } from "../../../hosting/app/format.js";
import { healthFacts } from "../../../hosting/app/health_facts.js";
import { json, makeClient, tokenReply } from "./fakes.js";

test("days run from the first to the last date, across a month's end", () => {
  assert.deepEqual(dateRange("2026-02-27", "2026-03-02"), ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
  assert.deepEqual(dateRange("2026-03-02", "2026-03-01"), []);
});

test("bookings count on the local day of their start, not the UTC day", () => {
  const days = ["2026-03-28", "2026-03-29", "2026-03-30"];
  const bookings = [
    { start: "2026-03-28T23:30:00+00:00" }, // 00:30 on the 29th in Berlin (winter time)
    { start: "2026-03-29T08:00:00+02:00" },
    { start: "2026-03-30T09:00:00+02:00" },
    { start: "2026-04-30T09:00:00+02:00" }, // outside the days: not counted anywhere
  ];
  assert.deepEqual(bookingsPerDay(bookings, days, "Europe/Berlin"), [0, 2, 1]);
  assert.deepEqual(bookingsPerDay(bookings, days, "UTC"), [1, 1, 1]);
});

test("an alert is open at a day's end when it opened by then and was not resolved by then", () => {
  const days = ["2026-05-01", "2026-05-02", "2026-05-03"];
  const now = Date.parse("2026-05-03T12:00:00Z");
  const alerts = [
    { severity: "high", opened_at: "2026-04-20T10:00:00Z", resolved_at: null }, // open throughout
    { severity: "high", opened_at: "2026-05-01T10:00:00Z", resolved_at: "2026-05-02T09:00:00Z" }, // the 1st only
    { severity: "critical", opened_at: "2026-05-02T23:59:00Z", resolved_at: null }, // from the 2nd
    { severity: "critical", opened_at: "2026-05-03T13:00:00Z", resolved_at: null }, // after now: not yet
    { severity: "critical", opened_at: "2026-05-03T08:00:00Z", resolved_at: "2026-05-03T11:00:00Z" }, // resolved before now
    { severity: "high", resolved_at: null }, // older data without an opening time: on no day
  ];
  assert.deepEqual(openAlertsPerDay(alerts, days, "UTC", now), { critical: [0, 1, 1], high: [2, 1, 1] });
  // The last value is what is open now; compared with the exact aggregation counts.
  const history = openAlertsPerDay(alerts, days, "UTC", now);
  assert.deepEqual(openNowComparison(history, { critical: { count: 1 }, high: { count: 3 } }), [
    { severity: "critical", listed: 1, exact: 1 },
    { severity: "high", listed: 1, exact: 3 },
  ]);
  assert.deepEqual(openNowComparison(history, undefined).map((c) => c.exact), [null, null]);
});

test("aggregation groups keep the stated order, then any key the server added", () => {
  const group = { cancelled: { count: 2 }, requested: { count: 5 }, on_hold: { count: 1 } };
  assert.deepEqual(groupCounts(group, ["requested", "confirmed", "cancelled"]), [
    { key: "requested", count: 5 },
    { key: "cancelled", count: 2 },
    { key: "on_hold", count: 1 },
  ]);
  assert.deepEqual(groupCounts(undefined, ["requested"]), []);
});

/** The documented answer of GET /api/monitoring/health/detailed (docs/monitoring.md). */
function detailed(overrides = {}) {
  return {
    status: "ok",
    reasons: [],
    version: "1.4.0",
    function: "monitoring",
    uptime_seconds: 812.4,
    dependencies: [{ name: "firestore", ok: true, latency_ms: 8.6, error: null }],
    performance: { window: "5m", requests: 220, error_rate: 0.001667, p95_ms: 41.0, read_at: "2026-11-29T06:27:41Z", available: true },
    thresholds: { max_error_rate: 0.05, max_p95_ms: 1000.0, min_requests: 20 },
    process: { pid: 12, rss_bytes: 100864000, threads: 8, uptime_seconds: 812.4 },
    client_ip: { address: "203.0.113.9", source: "forwarded", limit_key: "203.0.113.9", peer: "169.254.1.1", forwarded_for: ["203.0.113.9"], trusted_proxy_hops: 1 },
    ...overrides,
  };
}

const factsOf = (/** @type {any} */ health) => Object.fromEntries(healthFacts(health).map((f) => [f.term, [f.detail, !!f.over]]));

test("health: the last 5 minutes' figures beside their thresholds", () => {
  assert.deepEqual(factsOf(detailed()), {
    Version: ["1.4.0", false],
    "Instance uptime": ["13 min", false],
    "Requests (5 min)": ["220", false],
    "5xx share (5 min)": ["0.17 % (limit 5 %)", false],
    "p95 latency (5 min)": ["41 ms (limit 1,000 ms)", false],
    Firestore: ["ok, 8.6 ms", false],
  });
});

test("health: figures beyond a threshold are marked, but not below the minimum of requests", () => {
  const bad = detailed({ performance: { window: "5m", requests: 220, error_rate: 0.1, p95_ms: 1500, read_at: null, available: true } });
  assert.deepEqual(factsOf(bad)["5xx share (5 min)"], ["10 % (limit 5 %)", true]);
  assert.deepEqual(factsOf(bad)["p95 latency (5 min)"], ["1,500 ms (limit 1,000 ms)", true]);
  const few = detailed({ performance: { window: "5m", requests: 3, error_rate: 0.333333, p95_ms: 1500, read_at: null, available: true } });
  assert.deepEqual(factsOf(few)["Requests (5 min)"], ["3 — fewer than 20, not judged", false]);
  assert.equal(factsOf(few)["5xx share (5 min)"][1], false);
  assert.equal(factsOf(few)["p95 latency (5 min)"][1], false);
});

test("health: unreadable figures, a dependency down, and the public answer", () => {
  const down = detailed({
    status: "degraded",
    reasons: ["firestore is not reachable (timeout)"],
    dependencies: [{ name: "firestore", ok: false, latency_ms: 1000, error: "timeout" }],
    performance: { window: "5m", requests: 0, error_rate: 0, p95_ms: null, read_at: null, available: false },
  });
  assert.deepEqual(factsOf(down)["Last 5 minutes"], ["figures could not be read", true]);
  assert.deepEqual(factsOf(down).Firestore, ["down: timeout", true]);
  assert.equal(factsOf(down)["Requests (5 min)"], undefined);
  // GET /health (roles without monitoring:read): status and version only.
  assert.deepEqual(healthFacts({ status: "ok", version: "1.4.0" }), [{ term: "Version", detail: "1.4.0" }]);
});

test("shares and durations read as people say them", () => {
  assert.equal(percent(0), "0 %");
  assert.equal(percent(0.05), "5 %");
  assert.equal(percent(0.125), "12.5 %");
  assert.equal(percent(0.001667), "0.17 %");
  assert.equal(duration(42.9), "42 s");
  assert.equal(duration(3 * 3600 + 5 * 60), "3 h 5 min");
  assert.equal(duration(86400), "1 day");
  assert.equal(duration(2 * 86400 + 4 * 3600), "2 days 4 h");
});

test("the monitoring calls ask the routes the monitoring function serves", async () => {
  const made = makeClient({
    handler: async (call) => (call.path === "/api/auth/login" ? json(200, tokenReply({ user: { role: "viewer" } })) : json(200, {})),
  });
  await made.client.login("viewer@example.test", "pw");
  made.calls.length = 0;
  const { monitoring } = made.client;
  await monitoring.healthDetailed();
  await monitoring.metrics();
  await monitoring.database();
  await monitoring.performance({ window: "24h", route: "/<vehicle_id>" });
  assert.deepEqual(
    made.calls.map((c) => [c.method, c.path, c.query, !!c.headers.authorization]),
    [
      ["GET", "/api/monitoring/health/detailed", {}, true],
      ["GET", "/api/monitoring/metrics", {}, true],
      ["GET", "/api/monitoring/stats/database", {}, true],
      ["GET", "/api/monitoring/stats/performance", { window: "24h", route: "/<vehicle_id>" }, true],
    ],
  );
});
