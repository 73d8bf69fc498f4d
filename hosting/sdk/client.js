// @ts-check
/**
 * The client core: one `request` that every API call goes through.
 *
 * Per request: a usable access token (refreshed first when about to expire), a timeout,
 * the error envelope turned into a typed error, one refresh-and-retry on 401, and retries
 * with backoff and jitter on network failures, 429 and 503 (Retry-After honoured). A
 * network failure is retried only when repeating the request cannot do the work twice: a
 * read, or a write carrying an Idempotency-Key. Mutations marked queueable go to the
 * offline queue when the platform is offline or the network fails.
 */

import { errorFromResponse, NetworkError, PmiError, SessionExpiredError } from "./errors.js";
import { OfflineQueue } from "./queue.js";
import { DEFAULT_RETRY, backoffDelay, delayForStatus, parseRetryAfter } from "./retry.js";
import { Emitter, alwaysOnline, randomId, sleep, systemClock } from "./runtime.js";
import { SessionManager } from "./session.js";
import { assertStorage, memoryStorage } from "./storage.js";

/** @typedef {Record<string, string | number | boolean | null | undefined>} Query */

/**
 * @typedef {object} RequestOptions
 * @property {Query} [query]
 * @property {unknown} [body] sent as JSON
 * @property {boolean} [auth] send the access token (default true)
 * @property {string | null} [idempotencyKey] sent as Idempotency-Key; makes a network failure safe to retry
 * @property {boolean} [retry] false: one attempt only
 * @property {number} [timeoutMs]
 * @property {AbortSignal} [signal]
 * @property {boolean} [networkRetrySafe] repeating after a lost response is harmless (default: reads and keyed writes)
 */

/**
 * @typedef {object} MutationOptions
 * @property {"queue" | "fail"} [offline] what to do without a network: wait in the offline queue, or throw
 * @property {string} [idempotencyKey] your own key (default: a new one per call)
 */

/**
 * A mutation that waits in the offline queue; `entry.id` names it in queue events.
 * @typedef {{queued: true, entry: import("./queue.js").QueueEntry}} Queued
 */

/**
 * @typedef {object} ClientEvents
 * @property {import("./session.js").SessionChange} session
 * @property {import("./queue.js").QueueState} queue
 * @property {{entry: import("./queue.js").QueueEntry, result: unknown}} replayed
 * @property {{entry: import("./queue.js").QueueEntry, error: PmiError}} failed
 * @property {{method: string, path: string, attempt: number, delayMs: number, reason: string}} retry
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl] origin of the API (default "": same origin as the page)
 * @property {import("./storage.js").StorageAdapter} [storage] tokens and queue (default: memory)
 * @property {string} [storagePrefix] key prefix in storage (default "pmi")
 * @property {typeof fetch} [fetch]
 * @property {import("./runtime.js").Clock} [clock]
 * @property {() => number} [random]
 * @property {import("./runtime.js").NetworkStatus} [network]
 * @property {import("./session.js").Lock} [lock] cross-tab mutual exclusion for refresh
 * @property {Partial<import("./retry.js").RetryPolicy>} [retry]
 * @property {number} [timeoutMs] per attempt (default 30 s; Hosting gives a function 60 s)
 * @property {number} [refreshLeewayMs] refresh this long before expiry (default 60 s)
 * @property {Record<string, string>} [headers] sent with every request (e.g. a client version)
 */

const DEFAULT_TIMEOUT_MS = 30_000;
// The server accepts a just-rotated refresh token again for 10 s (a lost response); the
// refresh request's own retries stay well inside that window.
const REFRESH_RETRY = { retries: 2, baseDelayMs: 300, maxDelayMs: 2_000, maxRetryAfterMs: 3_000 };
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export class PmiClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.storage = options.storage ?? memoryStorage();
    assertStorage(this.storage);
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("no fetch available: pass options.fetch");
    // Called through a closure: browsers refuse `fetch` invoked as another object's method.
    /** @type {typeof fetch} */
    this._fetch = (input, init) => fetchImpl(input, init);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.network = options.network ?? alwaysOnline;
    this.retryPolicy = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.defaultHeaders = { ...(options.headers ?? {}) };
    const prefix = options.storagePrefix ?? "pmi";
    /** @type {Emitter<ClientEvents>} */
    this.events = new Emitter();
    this.session = new SessionManager({
      storage: this.storage,
      key: `${prefix}.session`,
      clock: this.clock,
      lock: options.lock,
      refreshLeewayMs: options.refreshLeewayMs,
      refreshCall: (refreshToken) =>
        this._send(
          "POST",
          "/api/auth/refresh",
          { body: { refresh_token: refreshToken }, auth: false, networkRetrySafe: true },
          REFRESH_RETRY,
        ),
      onChange: (change) => this._sessionChanged(change),
    });
    /** @type {Emitter<import("./queue.js").QueueEvents>} */
    const queueEvents = new Emitter();
    queueEvents.on("change", (state) => this.events.emit("queue", state));
    queueEvents.on("replayed", (event) => this.events.emit("replayed", event));
    queueEvents.on("failed", (event) => this.events.emit("failed", event));
    this.queue = new OfflineQueue({
      storage: this.storage,
      key: `${prefix}.queue`,
      clock: this.clock,
      network: this.network,
      events: queueEvents,
      retry: this.retryPolicy,
      random: this.random,
      currentUserId: () => this.user?.id ?? null,
      send: (entry) =>
        this.request(entry.method, entry.path, {
          body: entry.body,
          query: entry.query,
          idempotencyKey: entry.idempotencyKey,
          retry: false, // the queue has its own, longer backoff
        }),
    });
    /** @type {Promise<void> | null} */
    this._started = null;
  }

  /**
   * Restores the stored session and queue; call once before use (idempotent).
   * @returns {Promise<void>}
   */
  start() {
    if (!this._started) {
      this._started = (async () => {
        await this.queue.load();
        const session = await this.session.restore();
        if (session) await this.queue.resume();
        else if (this.queue.size) this.queue.pause();
      })();
    }
    return this._started;
  }

  /** The signed-in user, or null. */
  get user() {
    return this.session.current?.user ?? null;
  }

  get signedIn() {
    return this.session.current !== null;
  }

  /**
   * Subscribe to `session`, `queue`, `replayed`, `failed` or `retry` events.
   * @template {keyof ClientEvents} K
   * @param {K} event
   * @param {(payload: ClientEvents[K]) => void} listener
   */
  on(event, listener) {
    return this.events.on(event, listener);
  }

  /** @param {import("./session.js").SessionChange} change */
  _sessionChanged(change) {
    if (change.reason === "expired") this.queue.pause();
    this.events.emit("session", change);
  }

  // ------------------------------------------------------------------ session calls

  /**
   * Signs in; the reply (with `firebase_token` for the mobile Firebase SDK) is returned.
   * @param {string} email
   * @param {string} password
   * @returns {Promise<import("./session.js").TokenReply>}
   */
  async login(email, password) {
    await this.start();
    /** @type {import("./session.js").TokenReply} */
    const reply = await this._send("POST", "/api/auth/login", { body: { email, password }, auth: false });
    await this.session.accept(reply, "signed_in");
    await this.queue.resume();
    return reply;
  }

  /**
   * Creates a customer account and signs it in.
   * @param {{email: string, password: string, full_name: string, phone?: string | null}} body
   * @returns {Promise<import("./session.js").TokenReply>}
   */
  async register(body) {
    await this.start();
    /** @type {import("./session.js").TokenReply} */
    const reply = await this._send("POST", "/api/auth/register", { body, auth: false });
    await this.session.accept(reply, "signed_in");
    await this.queue.resume();
    return reply;
  }

  /**
   * Rotates the tokens now (normally automatic).
   * @returns {Promise<import("./session.js").Session>}
   */
  async refresh() {
    await this.start();
    return this.session.refresh();
  }

  /**
   * Signs out: ends the session on the server (best effort: a network failure still signs
   * out locally) and forgets the tokens and the unsent queue.
   * @param {{keepQueue?: boolean}} [options]
   */
  async logout(options = {}) {
    await this.start();
    const session = this.session.current;
    if (session) {
      try {
        await this._send("POST", "/api/auth/logout", { body: { refresh_token: session.refresh_token }, auth: false, retry: false });
      } catch (error) {
        if (!(error instanceof PmiError)) throw error;
      }
    }
    if (!options.keepQueue) await this.queue.clear();
    await this.session.clear("signed_out");
  }

  /** Ends every session of this user on every device, then signs out here. */
  async logoutAll() {
    await this.request("POST", "/api/auth/logout-all");
    await this.queue.clear();
    await this.session.clear("signed_out");
  }

  // ------------------------------------------------------------------ requests

  /**
   * One API call with the session, retries and typed errors.
   * @param {string} method
   * @param {string} path e.g. "/api/vehicles"
   * @param {RequestOptions} [options]
   * @returns {Promise<any>} the parsed JSON body (null for 204)
   */
  async request(method, path, options = {}) {
    await this.start();
    return this._send(method, path, options, this.retryPolicy);
  }

  /**
   * A mutation that may wait in the offline queue.
   * @param {string} method
   * @param {string} path
   * @param {{body?: unknown, query?: Query, label: string, idempotent?: boolean} & MutationOptions} options
   *   `idempotent`: send an Idempotency-Key (the server de-duplicates on it)
   * @returns {Promise<any>} the result, or a {@link Queued} marker
   */
  async mutate(method, path, options) {
    await this.start();
    const idempotencyKey = options.idempotent ? options.idempotencyKey ?? randomId(this.random) : null;
    const queueable = (options.offline ?? "queue") === "queue";
    const entry = {
      id: randomId(this.random),
      method,
      path,
      body: options.body,
      query: options.query,
      idempotencyKey,
      label: options.label,
      userId: this.user?.id ?? null,
    };
    if (queueable && (this.queue.size > 0 || !this.network.isOnline())) {
      if (!this.signedIn) throw new SessionExpiredError("not_signed_in", "Sign in first.");
      return { queued: true, entry: await this.queue.enqueue(entry) };
    }
    try {
      return await this._send(method, path, { body: options.body, query: options.query, idempotencyKey }, this.retryPolicy);
    } catch (error) {
      if (queueable && error instanceof NetworkError) {
        return { queued: true, entry: await this.queue.enqueue(entry) };
      }
      throw error;
    }
  }

  /**
   * Every page of a cursor-paginated list, as one async iterator of items.
   * @template T
   * @param {(query: Query) => Promise<{items: T[], next_cursor: string | null}>} list
   * @param {Query} [query]
   * @param {{maxPages?: number}} [options]
   * @returns {AsyncGenerator<T>}
   */
  async *paginate(list, query = {}, options = {}) {
    let cursor = /** @type {string | null} */ (null);
    let pages = 0;
    do {
      const page = await list({ ...query, cursor: cursor ?? undefined });
      yield* page.items;
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor && pages < (options.maxPages ?? Infinity));
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {RequestOptions} options
   * @param {import("./retry.js").RetryPolicy} [policy]
   */
  async _send(method, path, options, policy = this.retryPolicy) {
    const upper = method.toUpperCase();
    const url = this.baseUrl + path + queryString(options.query);
    const auth = options.auth ?? true;
    const retries = options.retry === false ? { ...policy, retries: 0 } : policy;
    const networkRetrySafe = options.networkRetrySafe ?? (SAFE_METHODS.has(upper) || !!options.idempotencyKey);
    let attempt = 0;
    let refreshedAfter401 = false;
    for (;;) {
      /** @type {Record<string, string>} */
      const headers = { Accept: "application/json", ...this.defaultHeaders };
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
      let token = null;
      if (auth) {
        token = await this.session.accessToken();
        headers.Authorization = `Bearer ${token}`;
      }
      let response;
      try {
        response = await this._fetchOnce(url, {
          method: upper,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        }, options);
      } catch (error) {
        // Cancelled by the caller, or the platform knows it is offline: waiting cannot help.
        if (!(error instanceof NetworkError) || error.code === "aborted" || error.code === "offline") throw error;
        if (!networkRetrySafe || attempt >= retries.retries) throw error;
        const delayMs = backoffDelay(attempt, retries, this.random);
        this.events.emit("retry", { method: upper, path, attempt: attempt + 1, delayMs, reason: error.code });
        await sleep(this.clock, delayMs);
        attempt += 1;
        continue;
      }
      if (response.ok) return readBody(response);
      const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"), this.clock.now());
      const error = errorFromResponse(response.status, await readJsonOrNull(response), {
        requestId: response.headers.get("X-Request-ID"),
        statusText: response.statusText,
        retryAfterMs,
      });
      if (response.status === 401 && auth && token && !refreshedAfter401) {
        refreshedAfter401 = true;
        await this.session.refresh(token); // throws SessionExpiredError when the session is over
        continue;
      }
      if (response.status === 401 && auth) {
        // Refused even with a fresh token: the account or session ended meanwhile.
        await this.session.clear("expired", { code: error.code, message: error.message });
        throw new SessionExpiredError(error.code, error.message, { status: 401, requestId: error.requestId, cause: error });
      }
      const delayMs = delayForStatus(response.status, retryAfterMs, attempt, retries, this.random);
      if (delayMs === null) throw error;
      this.events.emit("retry", { method: upper, path, attempt: attempt + 1, delayMs, reason: `http_${response.status}` });
      await sleep(this.clock, delayMs);
      attempt += 1;
    }
  }

  /**
   * One fetch with a timeout; every failure to get a response becomes a NetworkError.
   * @param {string} url
   * @param {RequestInit} init
   * @param {RequestOptions} options
   * @returns {Promise<Response>}
   */
  async _fetchOnce(url, init, options) {
    if (!this.network.isOnline()) throw new NetworkError("offline", "You are offline.");
    const controller = new AbortController();
    let timedOut = false;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onCallerAbort);
    try {
      return await this._fetch(url, { ...init, signal: controller.signal });
    } catch (error) {
      if (options.signal?.aborted) throw new NetworkError("aborted", "The request was cancelled.", { cause: error });
      if (timedOut) throw new NetworkError("timeout", `No answer within ${Math.round(timeoutMs / 1000)} s.`, { cause: error });
      throw new NetworkError("network_error", "The server could not be reached; check the connection.", { cause: error });
    } finally {
      this.clock.clearTimeout(timer);
      options.signal?.removeEventListener("abort", onCallerAbort);
    }
  }
}

/** @param {Query | undefined} query */
export function queryString(query) {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** @param {Response} response */
async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) return JSON.parse(text);
  return text;
}

/** @param {Response} response */
async function readJsonOrNull(response) {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
