// The offline queue: order, persistence across a reload, state and events, failures.

import assert from "node:assert/strict";
import { test } from "node:test";

import { manualNetwork, memoryStorage } from "../../../hosting/sdk/index.js";
import { FakeClock, envelope, json, makeClient, networkFailure, settle, tokenReply } from "./fakes.js";

const booking = (n) => ({
  vehicle_id: "v1",
  center_id: "c1",
  service_type: "battery_check",
  start: `2026-12-0${n}T09:00:00+01:00`,
});

/** A bookings server that records what it booked, in order, and de-duplicates on the key. */
function bookingServer({ user = {} } = {}) {
  const booked = [];
  const keys = new Map();
  const state = { down: false, refuse: new Set() };
  const handler = async (call) => {
    if (call.path === "/api/auth/login") return json(200, tokenReply({ user }));
    if (state.down) return networkFailure();
    if (call.path === "/api/bookings" && call.method === "POST") {
      if (state.refuse.has(call.body.start)) return envelope(409, "slot_taken", "That slot was just taken.", "req-409");
      const key = call.headers["idempotency-key"];
      if (keys.has(key)) return json(201, keys.get(key));
      const created = { id: `b${booked.length + 1}`, ...call.body, status: "requested" };
      booked.push(created);
      keys.set(key, created);
      return json(201, created);
    }
    if (call.path.endsWith("/confirm")) return json(200, { id: call.path.split("/")[3], status: "confirmed" });
    return json(200, {});
  };
  return { booked, state, handler };
}

test("offline mutations wait in order and replay in order when the network returns", async () => {
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client, calls, events } = makeClient({ handler: server.handler, network });
  await client.login("ada@example.test", "pw");
  network.set(false);
  const results = [];
  for (const n of [1, 2, 3]) results.push(await client.bookings.create(booking(n)));
  assert.ok(results.every((r) => r.queued === true));
  assert.equal(client.queue.state.pending, 3);
  assert.equal(calls.filter((c) => c.path === "/api/bookings").length, 0, "nothing was sent while offline");
  assert.equal(events.queue.at(-1).pending, 3);

  network.set(true);
  await client.queue.flush();
  assert.deepEqual(server.booked.map((b) => b.start), [1, 2, 3].map((n) => booking(n).start));
  assert.equal(client.queue.state.pending, 0);
  assert.equal(events.replayed.length, 3);
  assert.deepEqual(events.replayed.map((e) => e.result.id), ["b1", "b2", "b3"]);
  assert.equal(events.queue.at(-1).pending, 0);
});

test("a new mutation made while others wait joins the end instead of overtaking", async () => {
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client, calls } = makeClient({ handler: server.handler, network });
  await client.login("ada@example.test", "pw");
  network.set(false);
  await client.bookings.create(booking(1));
  await client.bookings.confirm("b-old");
  network.set(true);
  await client.queue.flush();
  const sent = calls.filter((c) => c.path !== "/api/auth/login").map((c) => `${c.method} ${c.path}`);
  assert.deepEqual(sent, ["POST /api/bookings", "POST /api/bookings/b-old/confirm"]);
});

test("the queue survives a reload and replays with the same Idempotency-Key", async () => {
  const server = bookingServer();
  const storage = memoryStorage();
  const clock = new FakeClock();
  const offline = manualNetwork(false);
  const before = makeClient({ handler: server.handler, storage, clock, network: offline });
  await before.client.login("ada@example.test", "pw").catch(() => {});
  // Signed in earlier while online:
  offline.set(true);
  await before.client.login("ada@example.test", "pw");
  offline.set(false);
  const queued = await before.client.bookings.create(booking(1));
  await before.client.bookings.create(booking(2));
  const stored = JSON.parse(await storage.getItem("pmi.queue"));
  assert.equal(stored.length, 2);
  assert.equal(stored[0].idempotencyKey, queued.entry.idempotencyKey);
  before.client.queue.dispose();

  // The page reloads with the network back: a new client on the same storage.
  const after = makeClient({ handler: server.handler, storage, clock, network: manualNetwork(true) });
  await after.client.start();
  await after.client.queue.flush();
  assert.deepEqual(server.booked.map((b) => b.start), [booking(1).start, booking(2).start]);
  const sentKey = after.calls.find((c) => c.path === "/api/bookings").headers["idempotency-key"];
  assert.equal(sentKey, queued.entry.idempotencyKey);
  assert.equal(JSON.parse(await storage.getItem("pmi.queue")).length, 0);
});

test("a replay the server refuses is dropped with lastError, and the rest still go", async () => {
  const server = bookingServer();
  server.state.refuse.add(booking(1).start);
  const network = manualNetwork(false);
  const { client, events } = makeClient({ handler: server.handler, network });
  network.set(true);
  await client.login("ada@example.test", "pw");
  network.set(false);
  await client.bookings.create(booking(1));
  await client.bookings.create(booking(2));
  network.set(true);
  await client.queue.flush();
  assert.deepEqual(server.booked.map((b) => b.start), [booking(2).start]);
  const state = client.queue.state;
  assert.equal(state.pending, 0);
  assert.equal(state.lastError.code, "slot_taken");
  assert.equal(state.lastError.requestId, "req-409");
  assert.match(state.lastError.label, /^Book battery check/);
  assert.equal(events.failed.length, 1);
  assert.equal(events.failed[0].error.code, "slot_taken");
});

test("a network failure during replay keeps the entry and retries after a backoff", async () => {
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client, clock } = makeClient({ handler: server.handler, network });
  await client.login("ada@example.test", "pw");
  network.set(false);
  await client.bookings.create(booking(1));
  server.state.down = true; // the platform says online, but requests still fail
  network.set(true);
  await client.queue.flush();
  let state = client.queue.state;
  assert.equal(state.pending, 1);
  assert.equal(state.lastError.code, "network_error");
  assert.ok(state.nextAttemptAt > clock.now());
  server.state.down = false;
  await clock.tick(state.nextAttemptAt - clock.now());
  await client.queue.flush();
  state = client.queue.state;
  assert.equal(state.pending, 0);
  assert.equal(server.booked.length, 1);
});

test("a mutation whose request fails on the network is queued rather than lost", async () => {
  const server = bookingServer();
  const { client, clock } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  server.state.down = true;
  const pending = client.bookings.create(booking(1));
  await clock.runAll(10_000);
  const result = await pending;
  assert.equal(result.queued, true);
  assert.equal(client.queue.state.pending, 1);
  server.state.down = false;
  await clock.runAll(120_000);
  await client.queue.flush();
  assert.equal(server.booked.length, 1, "booked once: retries and replay shared one key");
});

test("offline: 'fail' throws instead of queueing", async () => {
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client } = makeClient({ handler: server.handler, network });
  await client.login("ada@example.test", "pw");
  network.set(false);
  await assert.rejects(client.bookings.create(booking(1), { offline: "fail" }), (e) => e.name === "NetworkError" && e.code === "offline");
  assert.equal(client.queue.state.pending, 0);
});

test("entries of a user who signed out are discarded when someone else signs in", async () => {
  let who = { id: "u1", email: "ada@example.test" };
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client, events } = makeClient({
    network,
    handler: (call) => (call.path === "/api/auth/login" ? json(200, tokenReply({ user: who })) : server.handler(call)),
  });
  await client.login("ada@example.test", "pw");
  network.set(false);
  await client.bookings.create(booking(1));
  await client.session.clear("expired", { code: "session_revoked" });
  assert.equal(client.queue.state.paused, true);
  network.set(true);
  who = { id: "u2", email: "bob@example.test" };
  await client.login("bob@example.test", "pw");
  await client.queue.flush();
  assert.equal(server.booked.length, 0);
  assert.equal(events.failed[0].error.code, "queued_for_other_user");
  await settle();
});

test("explicit logout clears the queue", async () => {
  const server = bookingServer();
  const network = manualNetwork(true);
  const { client, storage } = makeClient({ handler: server.handler, network });
  await client.login("ada@example.test", "pw");
  network.set(false);
  await client.bookings.create(booking(1));
  await client.logout();
  assert.equal(client.queue.state.pending, 0);
  assert.deepEqual(JSON.parse(await storage.getItem("pmi.queue")), []);
});
