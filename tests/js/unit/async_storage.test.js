// The AsyncStorage-shaped storage adapter (React Native): a session kept in it survives a
// reload (a new SDK instance over the same store), and logout clears it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { asyncStorageAdapter } from "../../../hosting/sdk/storage.js";
import { json, makeClient, tokenReply } from "./fakes.js";

/**
 * An in-memory stand-in for `@react-native-async-storage/async-storage`: every method
 * answers on a later turn of the event loop (as the native bridge does), and values must
 * be strings (the real module refuses anything else).
 */
function fakeAsyncStorage() {
  const items = new Map();
  const later = (value) => new Promise((resolve) => setImmediate(() => resolve(value)));
  return {
    items,
    getItem: (key) => later(items.has(key) ? items.get(key) : null),
    setItem: (key, value) => {
      if (typeof value !== "string") return Promise.reject(new TypeError(`[AsyncStorage] ${key}: value is not a string`));
      items.set(key, value);
      return later(undefined);
    },
    removeItem: (key) => {
      items.delete(key);
      return later(undefined);
    },
  };
}

/** A server that signs in, answers /me for the current token, and ends sessions. */
function server() {
  const state = { access: null, refresh: null, loggedOut: [] };
  const handler = async (call) => {
    if (call.path === "/api/auth/login") {
      const reply = tokenReply({ user: { email: call.body.email } });
      state.access = reply.access_token;
      state.refresh = reply.refresh_token;
      return json(200, reply);
    }
    if (call.path === "/api/auth/logout") {
      state.loggedOut.push(call.body.refresh_token);
      return new Response(null, { status: 204 });
    }
    if (call.headers.authorization !== `Bearer ${state.access}`) return json(401, { error: { code: "invalid_token", message: "no", request_id: "r", details: [] } });
    return json(200, { path: call.path, token: state.access });
  };
  return { state, handler };
}

test("a session kept in AsyncStorage survives a reload into a new SDK instance", async () => {
  const store = fakeAsyncStorage();
  const api = server();
  const first = makeClient({ handler: api.handler, storage: asyncStorageAdapter(store) });
  await first.client.start();
  await first.client.login("grace@example.test", "pw");
  assert.ok(store.items.has("pmi.session"), "the tokens were written to AsyncStorage");
  assert.equal(JSON.parse(store.items.get("pmi.session")).refresh_token, api.state.refresh);

  // The app is closed and opened again: nothing but the store is shared.
  const reloaded = makeClient({ handler: api.handler, storage: asyncStorageAdapter(store), clock: first.clock });
  assert.equal(reloaded.client.signedIn, false, "nothing is known before start()");
  await reloaded.client.start();
  assert.equal(reloaded.client.signedIn, true);
  assert.equal(reloaded.client.user.email, "grace@example.test");
  const reply = await reloaded.client.request("GET", "/api/auth/me");
  assert.equal(reply.token, api.state.access, "the restored access token is sent");
  assert.ok(!reloaded.calls.some((c) => c.path === "/api/auth/login"), "no second sign-in");
});

test("logout removes the session from AsyncStorage, so the next start is signed out", async () => {
  const store = fakeAsyncStorage();
  const api = server();
  const first = makeClient({ handler: api.handler, storage: asyncStorageAdapter(store) });
  await first.client.start();
  await first.client.login("grace@example.test", "pw");
  const refreshToken = api.state.refresh;
  await first.client.logout();
  assert.deepEqual(api.state.loggedOut, [refreshToken], "the server ended the session");
  assert.equal(store.items.has("pmi.session"), false);
  assert.equal(first.client.signedIn, false);

  const reloaded = makeClient({ handler: api.handler, storage: asyncStorageAdapter(store), clock: first.clock });
  await reloaded.client.start();
  assert.equal(reloaded.client.signedIn, false);
  assert.equal(reloaded.client.user, null);
});

test("an object without AsyncStorage's methods is refused at start-up, naming what is missing", () => {
  const { removeItem, ...withoutRemove } = fakeAsyncStorage();
  assert.equal(typeof removeItem, "function");
  assert.throws(() => asyncStorageAdapter(withoutRemove), { name: "TypeError", message: /'removeItem' is missing/ });
  assert.throws(() => asyncStorageAdapter(null), TypeError);
});
