// Retries: backoff with jitter on network errors, 503 and 429 (Retry-After honoured),
// never on other 4xx; Idempotency-Key reused across attempts; typed errors.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ConflictError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  ValidationError,
  backoffDelay,
  parseRetryAfter,
} from "../../../hosting/sdk/index.js";
import { envelope, json, makeClient, networkFailure, settle, tokenReply } from "./fakes.js";

/** A client already signed in, whose API answers come from `answers` in order. */
async function signedInClient(answers, options = {}) {
  const queue = [...answers];
  const made = makeClient({
    ...options,
    handler: async (call) => {
      if (call.path === "/api/auth/login") return json(200, tokenReply());
      const next = queue.shift();
      if (!next) throw new Error(`unexpected call ${call.method} ${call.path}`);
      return next(call);
    },
  });
  await made.client.login("ada@example.test", "pw");
  made.calls.length = 0;
  return made;
}

const ok = () => json(200, { ok: true });

test("backoff is full jitter: random × min(cap, base × 2^attempt)", () => {
  const policy = { retries: 5, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 30000 };
  assert.equal(backoffDelay(0, policy, () => 0.5), 125);
  assert.equal(backoffDelay(1, policy, () => 0.5), 250);
  assert.equal(backoffDelay(3, policy, () => 0.999), 1998);
  assert.equal(backoffDelay(10, policy, () => 1), 8000);
  assert.equal(backoffDelay(2, policy, () => 0), 0);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.UTC(2026, 10, 30, 9, 0, 0);
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("0.5", now), 500);
  assert.equal(parseRetryAfter(new Date(now + 7000).toUTCString(), now), 7000);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

test("503 is retried after the jittered backoff, then succeeds", async () => {
  const { client, calls, clock, events } = await signedInClient([
    () => envelope(503, "unavailable", "Try again."),
    () => envelope(503, "unavailable", "Try again."),
    ok,
  ]);
  const started = clock.now();
  const pending = client.request("GET", "/api/vehicles");
  await clock.tick(124);
  assert.equal(calls.length, 1, "the first retry waits 0.5 × 250 ms");
  await clock.tick(1);
  assert.equal(calls.length, 2);
  await clock.tick(250);
  assert.equal(calls.length, 3, "the second waits 0.5 × 500 ms");
  assert.deepEqual(await pending, { ok: true });
  assert.equal(calls[1].at - started, 125);
  assert.equal(calls[2].at - calls[1].at, 250);
  assert.deepEqual(events.retry.map((e) => e.delayMs), [125, 250]);
});

test("429 waits exactly what Retry-After says", async () => {
  const { client, calls, clock } = await signedInClient([
    () => envelope(429, "rate_limited", "Slow down.", "req-429", { "Retry-After": "2" }),
    ok,
  ]);
  const pending = client.request("GET", "/api/bookings");
  await clock.tick(1999);
  assert.equal(calls.length, 1);
  await clock.tick(1);
  assert.equal(calls.length, 2);
  assert.deepEqual(await pending, { ok: true });
});

test("a Retry-After longer than the cap is not waited for: the typed error is raised", async () => {
  const { client, calls } = await signedInClient([
    () => envelope(429, "rate_limited", "Slow down.", "req-9", { "Retry-After": "3600" }),
  ]);
  await assert.rejects(client.request("GET", "/api/bookings"), (error) => {
    assert.ok(error instanceof RateLimitedError);
    assert.equal(error.retryAfterMs, 3_600_000);
    assert.equal(error.requestId, "req-9");
    return true;
  });
  assert.equal(calls.length, 1);
});

for (const [status, code, ErrorClass] of [
  [400, "malformed_json", ValidationError],
  [404, "not_found", NotFoundError],
  [409, "slot_taken", ConflictError],
  [422, "validation_failed", ValidationError],
]) {
  test(`${status} is never retried and raises ${ErrorClass.name} with the envelope`, async () => {
    const { client, calls, clock } = await signedInClient([() => envelope(status, code, `Answer ${status}.`, `req-${status}`)]);
    const pending = client.request("POST", "/api/bookings", { body: {}, idempotencyKey: "k1" });
    const outcome = assert.rejects(pending, (error) => {
      assert.ok(error instanceof ErrorClass);
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      assert.equal(error.message, `Answer ${status}.`);
      assert.equal(error.requestId, `req-${status}`);
      assert.equal(error.request_id, `req-${status}`);
      return true;
    });
    await clock.tick(60_000);
    await outcome;
    assert.equal(calls.length, 1);
  });
}

test("retries give up after the policy's count with the last error", async () => {
  const { client, calls, clock } = await signedInClient(
    Array.from({ length: 4 }, () => () => envelope(503, "unavailable", "Down.")),
  );
  const pending = client.request("GET", "/api/vehicles");
  const outcome = assert.rejects(pending, (e) => e instanceof ServiceUnavailableError && e.code === "unavailable");
  await clock.runAll();
  await outcome;
  assert.equal(calls.length, 4, "one attempt and three retries");
});

test("a read is retried after a network failure", async () => {
  const { client, calls, clock } = await signedInClient([networkFailure, ok]);
  const pending = client.request("GET", "/api/vehicles");
  await clock.runAll();
  assert.deepEqual(await pending, { ok: true });
  assert.equal(calls.length, 2);
});

test("a keyless POST is not repeated after a network failure (it may have been done)", async () => {
  const { client, calls, clock } = await signedInClient([networkFailure]);
  const pending = client.request("POST", "/api/bookings/b1/confirm");
  const outcome = assert.rejects(pending, (e) => e instanceof NetworkError && e.code === "network_error");
  await clock.runAll();
  await outcome;
  assert.equal(calls.length, 1);
});

test("booking creation carries one Idempotency-Key, reused on every retry", async () => {
  const { client, calls, clock } = await signedInClient([
    networkFailure,
    () => envelope(503, "unavailable", "Busy."),
    () => json(201, { id: "b1", status: "requested" }),
  ]);
  const pending = client.bookings.create(
    { vehicle_id: "v1", center_id: "c1", service_type: "battery_check", start: "2026-12-01T09:00:00+01:00" },
    { offline: "fail" },
  );
  await clock.runAll();
  assert.deepEqual(await pending, { id: "b1", status: "requested" });
  const keys = calls.map((c) => c.headers["idempotency-key"]);
  assert.equal(keys.length, 3);
  assert.match(keys[0], /^[0-9a-f-]{36}$/);
  assert.ok(keys.every((k) => k === keys[0]));
});

test("two booking creations get different keys", async () => {
  const { client, calls } = await signedInClient([() => json(201, { id: "b1" }), () => json(201, { id: "b2" })]);
  const body = { vehicle_id: "v1", center_id: "c1", service_type: "oil_change", start: "2026-12-01T09:00:00+01:00" };
  await client.bookings.create(body);
  await client.bookings.create(body);
  assert.notEqual(calls[0].headers["idempotency-key"], calls[1].headers["idempotency-key"]);
});

test("suggestion acceptance carries an Idempotency-Key too", async () => {
  const { client, calls } = await signedInClient([() => json(201, { id: "b1" })]);
  await client.bookings.acceptSuggestion("s-1");
  assert.equal(calls[0].path, "/api/bookings/suggestions/s-1/accept");
  assert.match(calls[0].headers["idempotency-key"], /^[0-9a-f-]{36}$/);
});

test("a timeout is a NetworkError with code 'timeout'", async () => {
  const { client, clock } = await signedInClient([], { retry: { retries: 0 } });
  client.timeoutMs = 5_000;
  // A server that never answers; fetch rejects when the SDK aborts it, as real fetch does.
  client._fetch = (_url, init) =>
    new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  const outcome = assert.rejects(client.request("GET", "/api/vehicles"), (e) => e instanceof NetworkError && e.code === "timeout");
  await clock.tick(4_999);
  await clock.tick(1);
  await outcome;
});

test("a non-JSON error page still gives a typed error with the response's request id", async () => {
  const { client } = await signedInClient([
    () => new Response("<h1>Bad gateway</h1>", { status: 404, statusText: "Not Found", headers: { "X-Request-ID": "gw-1", "Content-Type": "text/html" } }),
  ]);
  await assert.rejects(client.request("GET", "/api/nowhere"), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, "http_404");
    assert.equal(error.requestId, "gw-1");
    return true;
  });
});

test("fetch is never called as a method of the client (browsers throw 'Illegal invocation')", async () => {
  const { createClient } = await import("../../../hosting/sdk/index.js");
  let receiver = "unset";
  const client = createClient({
    fetch: function strictFetch() {
      receiver = this;
      return Promise.resolve(json(200, { status: "ok" }));
    },
  });
  await client.monitoring.live();
  assert.equal(receiver, undefined);
});
