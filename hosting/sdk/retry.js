// @ts-check
/**
 * When to try a request again, and how long to wait first.
 *
 * Retried: network failures (no answer), 503 and 429. Never any other 4xx: the request
 * itself is wrong and sending it again cannot help. The wait is exponential backoff with
 * "full jitter" (a uniformly random delay up to base × 2^attempt, capped), which spreads
 * many clients' retries out instead of synchronising them; a Retry-After header from the
 * server wins over the computed delay.
 */

/**
 * @typedef {object} RetryPolicy
 * @property {number} retries attempts after the first (0 disables retrying)
 * @property {number} baseDelayMs the first backoff window
 * @property {number} maxDelayMs cap of one computed backoff window
 * @property {number} maxRetryAfterMs a Retry-After longer than this is not waited for: the error is raised
 */

/** @type {RetryPolicy} */
export const DEFAULT_RETRY = Object.freeze({
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
});

/** Statuses that mean "not now" rather than "not this". */
export const RETRYABLE_STATUSES = Object.freeze(new Set([429, 503]));

/**
 * Full-jitter backoff: random in [0, min(max, base × 2^attempt)].
 * @param {number} attempt 0 for the first retry
 * @param {RetryPolicy} policy
 * @param {() => number} random in [0, 1)
 */
export function backoffDelay(attempt, policy, random) {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * window);
}

/**
 * Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or null.
 * @param {string | null | undefined} header
 * @param {number} nowMs
 */
export function parseRetryAfter(header, nowMs) {
  if (header == null) return null;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * How long to wait before the next attempt of an answered request, or null for "do not retry".
 * @param {number} status
 * @param {number | null} retryAfterMs
 * @param {number} attempt
 * @param {RetryPolicy} policy
 * @param {() => number} random
 */
export function delayForStatus(status, retryAfterMs, attempt, policy, random) {
  if (!RETRYABLE_STATUSES.has(status) || attempt >= policy.retries) return null;
  if (retryAfterMs != null) return retryAfterMs > policy.maxRetryAfterMs ? null : retryAfterMs;
  return backoffDelay(attempt, policy, random);
}
