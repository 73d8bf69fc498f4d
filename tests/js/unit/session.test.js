// Refresh: before expiry and on 401, single-flight, rotation respected, reuse → signed out.

import assert from "node:assert/strict";
import { test } from "node:test";

import { SessionExpiredError } from "../../../hosting/sdk/index.js";
import { envelope, json, makeClient, networkFailure, settle, tokenReply } from "./fakes.js";

/** A server that issues rotating tokens and accepts only the current access token. */
function rotatingServer({ ttl = 1800, onRefresh } = {}) {
  const state = { access: null, refresh: null, usedRefresh: new Set(), refreshCalls: 0 };
  const issue = () => {
    const reply = tokenReply({ ttl });
    state.access = reply.access_token;
    state.refresh = reply.refresh_token;
    return reply;
  };
  const handler = async (call) => {
    if (call.path === "/api/auth/login") return json(200, issue());
    if (call.path === "/api/auth/refresh") {
      state.refreshCalls += 1;
      if (onRefresh) {
        const answer = await onRefresh(call, state);
        if (answer) return answer;
      }
      const presented = call.body.refresh_token;
      if (state.usedRefresh.has(presented)) {
        return envelope(401, "refresh_reused", "This refresh token was already used; the session has been revoked.");
      }
      if (presented !== state.refresh) return envelope(401, "session_revoked", "The session has ended; sign in again.");
      state.usedRefresh.add(presented);
      return json(200, issue());
    }
    if (call.headers.authorization !== `Bearer ${state.access}`) {
      return envelope(401, "invalid_token", "The token is invalid or expired.");
    }
    return json(200, { path: call.path, token: state.access });
  };
  return { state, handler };
}

test("ten parallel calls with an expired token make exactly one refresh", async () => {
  const server = rotatingServer({ ttl: 600 });
  const { client, calls, clock } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  await clock.tick(601_000);
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.request("GET", `/api/vehicles/${i}`)));
  assert.equal(server.state.refreshCalls, 1);
  assert.equal(calls.filter((c) => c.path === "/api/auth/refresh").length, 1);
  for (const reply of replies) assert.equal(reply.token, server.state.access);
});

test("ten parallel calls refused with 401 share one refresh and are each retried once", async () => {
  const server = rotatingServer();
  const { client, calls } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  server.state.access = "rotated-by-the-server"; // every current token is now refused
  const replies = await Promise.all(Array.from({ length: 10 }, () => client.request("GET", "/api/vehicles")));
  assert.equal(server.state.refreshCalls, 1);
  assert.equal(calls.filter((c) => c.path === "/api/vehicles").length, 20);
  assert.ok(replies.every((r) => r.token === server.state.access));
});

test("a token about to expire is refreshed before the request leaves", async () => {
  const server = rotatingServer({ ttl: 1800 });
  const { client, calls, clock } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  await clock.tick(1800_000 - 59_000); // inside the 60 s leeway
  await client.request("GET", "/api/auth/me");
  const paths = calls.map((c) => c.path);
  assert.deepEqual(paths, ["/api/auth/login", "/api/auth/refresh", "/api/auth/me"]);
  assert.ok(!calls.some((c) => c.path === "/api/auth/me" && c.headers.authorization === "Bearer access-0"));
});

test("a fresh token is used as it is, with no refresh", async () => {
  const server = rotatingServer();
  const { client } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  await client.request("GET", "/api/auth/me");
  await client.request("GET", "/api/auth/me");
  assert.equal(server.state.refreshCalls, 0);
});

test("rotation: each refresh sends the newest refresh token, never an old one", async () => {
  const server = rotatingServer({ ttl: 100 });
  const { client, clock, calls, storage } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  for (let i = 0; i < 3; i += 1) {
    await clock.tick(101_000);
    await client.request("GET", "/api/auth/me");
  }
  const sent = calls.filter((c) => c.path === "/api/auth/refresh").map((c) => c.body.refresh_token);
  assert.equal(sent.length, 3);
  assert.equal(new Set(sent).size, 3, "no refresh token was sent twice");
  const stored = JSON.parse(await storage.getItem("pmi.session"));
  assert.equal(stored.refresh_token, server.state.refresh);
});

test("a reused refresh token signs the user out cleanly", async () => {
  const server = rotatingServer({ ttl: 100 });
  const { client, clock, storage, events } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  // The server saw this refresh token used (e.g. by a thief): the next refresh is a reuse.
  server.state.usedRefresh.add(server.state.refresh);
  await clock.tick(101_000);
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.request("GET", "/api/auth/me")));
  assert.equal(server.state.refreshCalls, 1);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(result.reason instanceof SessionExpiredError);
    assert.equal(result.reason.code, "refresh_reused");
    assert.equal(result.reason.requestId, "req-refresh_reused");
  }
  assert.equal(client.signedIn, false);
  assert.equal(client.user, null);
  assert.equal(await storage.getItem("pmi.session"), null);
  const ended = events.session.filter((e) => e.reason === "expired");
  assert.equal(ended.length, 1);
  assert.equal(ended[0].code, "refresh_reused");
  // Signed out, the client refuses further calls without sending them.
  await assert.rejects(client.request("GET", "/api/auth/me"), (e) => e instanceof SessionExpiredError && e.code === "not_signed_in");
});

test("tokens rotated by another tab are adopted instead of reusing the old refresh token", async () => {
  const server = rotatingServer({ ttl: 100 });
  const { client, clock, storage, events } = makeClient({ handler: server.handler });
  await client.login("ada@example.test", "pw");
  await clock.tick(101_000);
  // Another tab sharing this storage refreshed first and stored the new pair.
  const other = tokenReply({ ttl: 100 });
  server.state.access = other.access_token;
  server.state.refresh = other.refresh_token;
  const now = clock.now();
  await storage.setItem(
    "pmi.session",
    JSON.stringify({ access_token: other.access_token, refresh_token: other.refresh_token, access_expires_at: now + 100_000, refresh_expires_at: now + 604_800_000, access_ttl_ms: 100_000, user: other.user }),
  );
  const reply = await client.request("GET", "/api/auth/me");
  assert.equal(reply.token, other.access_token);
  assert.equal(server.state.refreshCalls, 0);
  assert.ok(events.session.some((e) => e.reason === "adopted"));
});

test("a refresh that fails on the network keeps the session for a later try", async () => {
  let down = true;
  const server = rotatingServer({ ttl: 100, onRefresh: () => (down ? networkFailure() : null) });
  const { client, clock } = makeClient({ handler: server.handler, retry: { retries: 0 } });
  await client.login("ada@example.test", "pw");
  await clock.tick(101_000);
  const failing = client.request("GET", "/api/auth/me");
  const outcome = assert.rejects(failing, (e) => e.name === "NetworkError");
  await clock.runAll();
  await outcome;
  assert.equal(client.signedIn, true);
  down = false;
  const reply = await client.request("GET", "/api/auth/me");
  assert.equal(reply.token, server.state.access);
});

test("a session restored after a reload keeps working without signing in", async () => {
  const server = rotatingServer();
  const first = makeClient({ handler: server.handler });
  await first.client.login("ada@example.test", "pw");
  const reloaded = makeClient({ handler: server.handler, storage: first.storage, clock: first.clock });
  await reloaded.client.start();
  assert.equal(reloaded.client.user.email, "ada@example.test");
  const reply = await reloaded.client.request("GET", "/api/auth/me");
  assert.equal(reply.token, server.state.access);
  assert.ok(reloaded.events.session.some((e) => e.reason === "restored"));
});

test("logout ends the session on the server and forgets the tokens", async () => {
  const server = rotatingServer();
  const { client, calls, storage } = makeClient({ handler: async (call) => (call.path === "/api/auth/logout" ? new Response(null, { status: 204 }) : server.handler(call)) });
  await client.login("ada@example.test", "pw");
  const refreshToken = server.state.refresh;
  await client.logout();
  const logout = calls.find((c) => c.path === "/api/auth/logout");
  assert.deepEqual(logout.body, { refresh_token: refreshToken });
  assert.equal(logout.headers.authorization, undefined);
  assert.equal(await storage.getItem("pmi.session"), null);
  assert.equal(client.signedIn, false);
  await settle();
});
