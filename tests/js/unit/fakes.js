// Test doubles for the SDK's injected surroundings: a clock whose time moves only when a
// test says so, and a fetch answered by a scripted in-memory server.

import { createClient, manualNetwork, memoryStorage } from "../../../hosting/sdk/index.js";

/** Flushes pending promise callbacks (a real macrotask turn). */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export class FakeClock {
  constructor(start = Date.UTC(2026, 10, 30, 9, 0, 0)) {
    this._now = start;
    this._timers = new Map();
    this._nextId = 1;
  }

  now() {
    return this._now;
  }

  setTimeout(callback, ms) {
    const id = this._nextId++;
    this._timers.set(id, { at: this._now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(id) {
    this._timers.delete(id);
  }

  get pendingTimers() {
    return this._timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises run. */
  async tick(ms) {
    const target = this._now + ms;
    await settle();
    for (;;) {
      const due = [...this._timers.entries()]
        .filter(([, timer]) => timer.at <= target)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      const [id, timer] = due;
      this._timers.delete(id);
      this._now = timer.at;
      timer.callback();
      await settle();
    }
    this._now = target;
    await settle();
  }

  /** Runs until no timer is left (bounded), for code that must simply finish. */
  async runAll(limitMs = 3_600_000) {
    const end = this._now + limitMs;
    for (let idle = 0; idle < 3 && this._now < end; ) {
      await settle();
      if (!this._timers.size) {
        idle += 1;
        continue;
      }
      idle = 0;
      const next = Math.min(...[...this._timers.values()].map((t) => t.at));
      await this.tick(Math.max(0, next - this._now));
    }
  }
}

export function json(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function envelope(status, code, message, requestId = `req-${code}`, headers = {}) {
  return json(status, { error: { code, message, request_id: requestId, details: [] } }, { "X-Request-ID": requestId, ...headers });
}

let tokenCounter = 0;

/** A token reply like /login's; `ttl` is the access token's lifetime in seconds. */
export function tokenReply({ ttl = 1800, user = {} } = {}) {
  tokenCounter += 1;
  return {
    user: { id: "u1", email: "ada@example.test", full_name: "Ada", role: "customer", is_active: true, service_center_id: null, ...user },
    access_token: `access-${tokenCounter}`,
    refresh_token: `refresh-${tokenCounter}`,
    token_type: "bearer",
    expires_in: ttl,
    refresh_expires_in: 604800,
  };
}

/**
 * A fetch backed by `handler(call) => Response | Promise<Response>` (throw for a network
 * failure). Every call is recorded with its method, path, headers, body and clock time.
 */
export function fakeFetch(handler, clock) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const parsed = new URL(url, "http://api.test");
    const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const call = {
      method: init.method ?? "GET",
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers,
      body: init.body ? JSON.parse(init.body) : undefined,
      at: clock ? clock.now() : null,
    };
    calls.push(call);
    return handler(call, calls);
  };
  return { fetch, calls };
}

/** A client wired to fakes; returns the pieces a test inspects. */
export function makeClient({ handler, storage = memoryStorage(), clock = new FakeClock(), network = manualNetwork(true), random = () => 0.5, retry } = {}) {
  const server = fakeFetch(handler, clock);
  const client = createClient({ baseUrl: "http://api.test", fetch: server.fetch, storage, clock, network, random, retry });
  const events = { session: [], queue: [], replayed: [], failed: [], retry: [] };
  for (const name of Object.keys(events)) client.on(name, (payload) => events[name].push(payload));
  return { client, calls: server.calls, storage, clock, network, events };
}

export const networkFailure = () => {
  throw new TypeError("fetch failed");
};
