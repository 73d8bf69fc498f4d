// @ts-check
/**
 * The offline queue: mutations made while offline wait here, in order, and are sent when
 * the network is back.
 *
 * - Order: entries are sent one at a time, oldest first; while any entry waits, new
 *   queueable mutations join the end rather than overtake it.
 * - Persistence: every change is written through the storage adapter, so the queue
 *   survives a reload or an app restart and resumes when the client starts.
 * - Safety: each entry keeps the Idempotency-Key it was given when it was made, so a replay
 *   of a booking that did reach the server before the connection dropped is recognised by
 *   the server instead of booking twice.
 * - Failure: a network failure, 429 or 5xx leaves the entry at the head and retries later
 *   (exponential backoff, and at once when the platform reports it is online again). Any
 *   other error means the server refused it (e.g. 409, the slot was taken meanwhile): the
 *   entry is dropped, `lastError` records why, and a `failed` event carries it, so the UI
 *   can tell the user. A session that ended pauses the queue until someone signs in.
 * - Ownership: entries belong to the user who made them and are sent only with that
 *   user's session; signing in as someone else discards them (with `failed` events).
 */

import { ApiError, NetworkError, PmiError, SessionExpiredError } from "./errors.js";
import { backoffDelay } from "./retry.js";
import { readJson, writeJson } from "./storage.js";

/**
 * @typedef {object} QueueEntry
 * @property {string} id
 * @property {string} method
 * @property {string} path
 * @property {unknown} [body]
 * @property {Record<string, string | number | boolean | null | undefined>} [query]
 * @property {string | null} idempotencyKey
 * @property {string} label what the UI shows, e.g. "Book battery check"
 * @property {string | null} userId
 * @property {number} createdAt epoch ms
 * @property {number} attempts
 */

/**
 * @typedef {object} QueueState
 * @property {number} pending entries waiting
 * @property {boolean} replaying an entry is being sent now
 * @property {boolean} paused waiting for a sign-in
 * @property {{code: string, message: string, requestId: string | null, label: string, at: number} | null} lastError
 * @property {number | null} nextAttemptAt epoch ms of the next scheduled attempt
 * @property {QueueEntry[]} entries a copy, oldest first
 */

/**
 * @typedef {object} QueueEvents
 * @property {QueueState} change
 * @property {{entry: QueueEntry, result: unknown}} replayed
 * @property {{entry: QueueEntry, error: PmiError}} failed
 */

export class OfflineQueue {
  /**
   * @param {object} options
   * @param {import("./storage.js").StorageAdapter} options.storage
   * @param {string} options.key
   * @param {import("./runtime.js").Clock} options.clock
   * @param {import("./runtime.js").NetworkStatus} options.network
   * @param {(entry: QueueEntry) => Promise<unknown>} options.send performs one entry (no retries of its own needed)
   * @param {() => string | null} options.currentUserId
   * @param {import("./runtime.js").Emitter<QueueEvents>} options.events
   * @param {import("./retry.js").RetryPolicy} options.retry
   * @param {() => number} options.random
   * @param {number} [options.maxRetryDelayMs] cap of the wait between replay attempts
   */
  constructor({ storage, key, clock, network, send, currentUserId, events, retry, random, maxRetryDelayMs = 60_000 }) {
    this._storage = storage;
    this._key = key;
    this._clock = clock;
    this._network = network;
    this._send = send;
    this._currentUserId = currentUserId;
    this._events = events;
    this._retry = { ...retry, maxDelayMs: maxRetryDelayMs };
    this._random = random;
    /** @type {QueueEntry[]} */
    this._entries = [];
    /** @type {Promise<void> | null} */
    this._flushing = null;
    this._paused = false;
    this._failures = 0;
    /** @type {unknown} */
    this._timer = null;
    /** @type {number | null} */
    this._nextAttemptAt = null;
    /** @type {QueueState["lastError"]} */
    this._lastError = null;
    /** @type {Promise<void>} serialises writes so storage always ends with the latest list */
    this._writes = Promise.resolve();
    this._unsubscribe = network.subscribe((online) => {
      if (online) void this.flush();
    });
  }

  /** @returns {QueueState} */
  get state() {
    return {
      pending: this._entries.length,
      replaying: this._flushing !== null,
      paused: this._paused,
      lastError: this._lastError,
      nextAttemptAt: this._nextAttemptAt,
      entries: this._entries.map((entry) => ({ ...entry })),
    };
  }

  get size() {
    return this._entries.length;
  }

  /** Loads what a previous run left (call once at start). */
  async load() {
    const stored = await readJson(this._storage, this._key);
    this._entries = Array.isArray(stored) ? stored.filter(isEntry) : [];
    this._changed();
  }

  /**
   * Adds a mutation at the end and tries to send the queue.
   * @param {Omit<QueueEntry, "createdAt" | "attempts">} entry
   * @returns {Promise<QueueEntry>}
   */
  async enqueue(entry) {
    const full = { ...entry, createdAt: this._clock.now(), attempts: 0 };
    this._entries.push(full);
    await this._persist();
    this._changed();
    void this.flush();
    return full;
  }

  /** Forgets every entry (e.g. on explicit sign-out). */
  async clear() {
    this._entries = [];
    this._cancelTimer();
    await this._persist();
    this._changed();
  }

  /** Stops replaying until {@link resume} (the session ended). */
  pause() {
    this._paused = true;
    this._cancelTimer();
    this._changed();
  }

  /** Replays again (someone signed in); entries of other users are discarded. */
  async resume() {
    this._paused = false;
    const user = this._currentUserId();
    const foreign = this._entries.filter((entry) => entry.userId !== user);
    if (foreign.length) {
      this._entries = this._entries.filter((entry) => entry.userId === user);
      await this._persist();
      for (const entry of foreign) {
        const error = new PmiError("queued_for_other_user", "Discarded: it was made by another user who is no longer signed in.");
        this._fail(entry, error);
      }
    }
    this._changed();
    void this.flush();
  }

  /**
   * Sends waiting entries in order until the queue is empty, the network is down, or the
   * server asks to wait. Concurrent calls share one run.
   * @returns {Promise<void>}
   */
  flush() {
    if (!this._flushing) {
      this._flushing = this._run().finally(() => {
        this._flushing = null;
        this._changed();
      });
      this._changed();
    }
    return this._flushing;
  }

  async _run() {
    this._cancelTimer();
    while (this._entries.length && !this._paused) {
      if (!this._network.isOnline()) return; // the "online" event resumes us
      const entry = this._entries[0];
      entry.attempts += 1;
      let result;
      try {
        result = await this._send(entry);
      } catch (error) {
        if (error instanceof SessionExpiredError) {
          this._record(entry, error);
          this.pause();
          return;
        }
        if (isTransient(error)) {
          this._record(entry, /** @type {PmiError} */ (error));
          await this._persist();
          this._schedule(error);
          return;
        }
        this._entries.shift();
        await this._persist();
        this._fail(entry, toPmiError(error));
        continue;
      }
      this._entries.shift();
      this._failures = 0;
      await this._persist();
      this._events.emit("replayed", { entry, result });
      this._changed();
    }
  }

  /** @param {unknown} error */
  _schedule(error) {
    const hinted = error instanceof ApiError ? /** @type {{retryAfterMs?: number | null}} */ (error).retryAfterMs : null;
    const delay = hinted ?? Math.max(1_000, backoffDelay(this._failures, this._retry, this._random));
    this._failures += 1;
    this._nextAttemptAt = this._clock.now() + delay;
    this._timer = this._clock.setTimeout(() => {
      this._timer = null;
      this._nextAttemptAt = null;
      void this.flush();
    }, delay);
  }

  _cancelTimer() {
    if (this._timer !== null) this._clock.clearTimeout(this._timer);
    this._timer = null;
    this._nextAttemptAt = null;
  }

  /** @param {QueueEntry} entry @param {PmiError} error */
  _record(entry, error) {
    this._lastError = { code: error.code, message: error.message, requestId: error.requestId, label: entry.label, at: this._clock.now() };
  }

  /** @param {QueueEntry} entry @param {PmiError} error */
  _fail(entry, error) {
    this._record(entry, error);
    this._events.emit("failed", { entry, error });
    this._changed();
  }

  _persist() {
    const snapshot = this._entries.map((entry) => ({ ...entry }));
    this._writes = this._writes.then(() => writeJson(this._storage, this._key, snapshot));
    return this._writes;
  }

  _changed() {
    this._events.emit("change", this.state);
  }

  dispose() {
    this._cancelTimer();
    this._unsubscribe();
  }
}

/** @param {unknown} error */
export function isTransient(error) {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && (error.status === 429 || (error.status ?? 0) >= 500);
}

/** @param {unknown} error @returns {PmiError} */
function toPmiError(error) {
  if (error instanceof PmiError) return error;
  return new PmiError("client_error", error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * @param {unknown} value
 * @returns {value is QueueEntry}
 */
function isEntry(value) {
  if (!value || typeof value !== "object") return false;
  const v = /** @type {Record<string, unknown>} */ (value);
  return typeof v.id === "string" && typeof v.method === "string" && typeof v.path === "string";
}
