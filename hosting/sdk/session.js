// @ts-check
/**
 * The signed-in session: tokens kept in the storage adapter, refreshed before they expire
 * and when the API refuses them, one refresh at a time.
 *
 * Refresh tokens rotate: each works once, and the server revokes the whole session when an
 * old one comes back (it means two parties hold the tokens). So the SDK never sends a
 * refresh token twice on purpose: concurrent callers share one refresh ("single flight"),
 * a caller whose request failed with a token that has since been replaced just retries
 * with the new one, and before refreshing it re-reads storage in case another tab or
 * process already rotated the tokens. A retry of the refresh request itself after a lost
 * response is safe only within the server's grace window (10 s), which bounds its retries.
 * When the server says the session is over (reused, revoked, disabled account, expired
 * refresh token) the session is cleared and a `change` event says why.
 */

import { ApiError, NetworkError, SessionExpiredError } from "./errors.js";
import { readJson, writeJson } from "./storage.js";

/**
 * @typedef {object} User
 * @property {string} id
 * @property {string} email
 * @property {string | null} full_name
 * @property {string | null} phone
 * @property {"admin" | "customer" | "service_center" | "mechanic" | "viewer"} role
 * @property {boolean} is_active
 * @property {boolean} email_verified
 * @property {string | null} service_center_id
 * @property {string | null} created_at
 * @property {string | null} updated_at
 * @property {string | null} last_login
 */

/**
 * @typedef {object} TokenReply what /login, /register and /refresh answer
 * @property {User} user
 * @property {string} access_token
 * @property {string} refresh_token
 * @property {string} token_type
 * @property {number} expires_in seconds
 * @property {number} refresh_expires_in seconds
 * @property {string} [firebase_token] a Firebase custom token (login only), for the mobile Firebase SDK
 */

/**
 * @typedef {object} Session what the SDK stores
 * @property {string} access_token
 * @property {string} refresh_token
 * @property {number} access_expires_at epoch ms, by the local clock at receipt
 * @property {number} refresh_expires_at epoch ms
 * @property {number} access_ttl_ms
 * @property {User} user
 */

/**
 * @typedef {object} SessionChange
 * @property {Session | null} session
 * @property {"signed_in" | "refreshed" | "restored" | "signed_out" | "expired" | "adopted"} reason
 * @property {string} [code] the server's code when the session ended on its word
 * @property {string} [message]
 */

/**
 * @callback RefreshCall
 * @param {string} refreshToken
 * @returns {Promise<TokenReply>}
 */

/**
 * @callback Lock cross-context mutual exclusion (e.g. the Web Locks API across tabs)
 * @param {string} name
 * @param {() => Promise<any>} work
 * @returns {Promise<any>}
 */

/** @type {Lock} */
const noLock = (_name, work) => work();

// Refresh this long before expiry at most (a tenth of the lifetime for short-lived tokens),
// so a request never leaves with a token that dies on the way.
const DEFAULT_REFRESH_LEEWAY_MS = 60_000;

export class SessionManager {
  /**
   * @param {object} options
   * @param {import("./storage.js").StorageAdapter} options.storage
   * @param {string} options.key storage key of the session
   * @param {import("./runtime.js").Clock} options.clock
   * @param {RefreshCall} options.refreshCall
   * @param {(change: SessionChange) => void} options.onChange
   * @param {Lock} [options.lock]
   * @param {number} [options.refreshLeewayMs]
   */
  constructor({ storage, key, clock, refreshCall, onChange, lock = noLock, refreshLeewayMs = DEFAULT_REFRESH_LEEWAY_MS }) {
    this._storage = storage;
    this._key = key;
    this._clock = clock;
    this._refreshCall = refreshCall;
    this._onChange = onChange;
    this._lock = lock;
    this._leewayMs = refreshLeewayMs;
    /** @type {Session | null} */
    this._session = null;
    /** @type {Promise<Session> | null} */
    this._refreshing = null;
    /** Counts refresh calls actually sent (tests and diagnostics). */
    this.refreshCount = 0;
  }

  /** @returns {Session | null} */
  get current() {
    return this._session;
  }

  /** Reads the stored session (after a reload or app start). */
  async restore() {
    const stored = await readJson(this._storage, this._key);
    this._session = isSession(stored) && stored.refresh_expires_at > this._clock.now() ? stored : null;
    if (this._session) this._onChange({ session: this._session, reason: "restored" });
    else if (stored) await this._storage.removeItem(this._key);
    return this._session;
  }

  /**
   * Stores a token reply as the current session.
   * @param {TokenReply} reply
   * @param {"signed_in" | "refreshed"} reason
   */
  async accept(reply, reason) {
    const now = this._clock.now();
    /** @type {Session} */
    const session = {
      access_token: reply.access_token,
      refresh_token: reply.refresh_token,
      access_expires_at: now + reply.expires_in * 1000,
      refresh_expires_at: now + reply.refresh_expires_in * 1000,
      access_ttl_ms: reply.expires_in * 1000,
      user: reply.user,
    };
    this._session = session;
    await writeJson(this._storage, this._key, session);
    this._onChange({ session, reason });
    return session;
  }

  /**
   * Ends the session locally (the server side is the caller's business).
   * @param {"signed_out" | "expired"} reason
   * @param {{code?: string, message?: string}} [why]
   */
  async clear(reason, why = {}) {
    const had = this._session !== null;
    this._session = null;
    await this._storage.removeItem(this._key);
    if (had || reason === "expired") this._onChange({ session: null, reason, ...why });
  }

  /** @param {Session} session */
  _isFresh(session) {
    const leeway = Math.min(this._leewayMs, session.access_ttl_ms / 10);
    return session.access_expires_at - leeway > this._clock.now();
  }

  /**
   * A usable access token, refreshed first when it is about to expire.
   * @returns {Promise<string>}
   */
  async accessToken() {
    const session = this._session;
    if (!session) throw new SessionExpiredError("not_signed_in", "Sign in first.");
    if (this._isFresh(session)) return session.access_token;
    return (await this.refresh(session.access_token)).access_token;
  }

  /**
   * Refreshes unless the token `staleAccessToken` has already been replaced. Concurrent
   * callers share one refresh.
   * @param {string} [staleAccessToken] the token a request was refused with
   * @returns {Promise<Session>}
   */
  refresh(staleAccessToken) {
    const session = this._session;
    if (session && staleAccessToken && session.access_token !== staleAccessToken) {
      return Promise.resolve(session); // someone refreshed meanwhile: just use the new token
    }
    if (!this._refreshing) {
      this._refreshing = this._lock(`${this._key}:refresh`, () => this._refreshOnce()).finally(() => {
        this._refreshing = null;
      });
    }
    return /** @type {Promise<Session>} */ (this._refreshing);
  }

  async _refreshOnce() {
    const mine = this._session;
    // Another tab or process sharing this storage may have rotated the tokens already;
    // sending our (now old) refresh token would look like theft and end the session.
    const stored = await readJson(this._storage, this._key);
    if (isSession(stored) && mine && stored.refresh_token !== mine.refresh_token) {
      this._session = stored;
      this._onChange({ session: stored, reason: "adopted" });
      if (this._isFresh(stored)) return stored;
    } else if (!isSession(stored) && mine) {
      // Signed out elsewhere (another tab's sign-out removed the stored session).
      await this.clear("expired", { code: "signed_out_elsewhere", message: "You were signed out in another window." });
      throw new SessionExpiredError("signed_out_elsewhere", "You were signed out in another window.");
    }
    const current = this._session;
    if (!current) throw new SessionExpiredError("not_signed_in", "Sign in first.");
    if (current.refresh_expires_at <= this._clock.now()) {
      await this.clear("expired", { code: "refresh_expired", message: "The session has expired; sign in again." });
      throw new SessionExpiredError("refresh_expired", "The session has expired; sign in again.");
    }
    let reply;
    try {
      this.refreshCount += 1;
      reply = await this._refreshCall(current.refresh_token);
    } catch (error) {
      if (error instanceof NetworkError || !(error instanceof ApiError) || error.status === 429 || (error.status ?? 0) >= 500) {
        throw error; // nothing is known about the session: keep it, the caller may retry
      }
      // 401 (reused, revoked, disabled, expired) or a refused body: the session is over.
      await this.clear("expired", { code: error.code, message: error.message });
      throw new SessionExpiredError(error.code, error.message, { status: error.status, requestId: error.requestId, cause: error });
    }
    return this.accept(reply, "refreshed");
  }
}

/**
 * @param {unknown} value
 * @returns {value is Session}
 */
function isSession(value) {
  if (!value || typeof value !== "object") return false;
  const v = /** @type {Record<string, unknown>} */ (value);
  return (
    typeof v.access_token === "string" &&
    typeof v.refresh_token === "string" &&
    typeof v.access_expires_at === "number" &&
    typeof v.refresh_expires_at === "number" &&
    typeof v.access_ttl_ms === "number" &&
    !!v.user &&
    typeof v.user === "object"
  );
}
