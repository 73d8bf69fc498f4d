// @ts-check
/**
 * When a booking's timed actions may happen: a copy of functions/bookings/booking/lifecycle.py
 * `timing_problem`, from the booking's own `start` and `end`, so the day view can disable
 * Start and No-show outside their windows. The API stays the authority: a button shown
 * enabled by a wrong browser clock is still refused (409 with the boundary).
 *
 * - start: from START_EARLY_MINUTES before the slot's start until its end;
 * - no-show: from NO_SHOW_GRACE_MINUTES after the start on;
 * - every other action: at any time.
 *
 * Pure (no DOM), so node --test checks it (tests/js/unit/dashboard_logic.test.js).
 */

export const START_EARLY_MINUTES = 30;
export const NO_SHOW_GRACE_MINUTES = 15;
const MINUTE_MS = 60_000;

/**
 * @typedef {object} ActionWindow
 * @property {boolean} allowed
 * @property {"start_too_early" | "start_too_late" | "no_show_too_early" | null} code the API's refusal code
 * @property {number | null} at epoch ms: when it becomes possible, or when it stopped being possible
 */

/**
 * @param {string} action "start", "no_show", or any other action (always allowed)
 * @param {{start: string, end: string}} booking ISO 8601 instants with an offset
 * @param {number} now epoch ms
 * @returns {ActionWindow}
 */
export function actionWindow(action, booking, now) {
  const start = Date.parse(booking.start);
  const end = Date.parse(booking.end);
  if (action === "start") {
    const opens = start - START_EARLY_MINUTES * MINUTE_MS;
    if (now < opens) return { allowed: false, code: "start_too_early", at: opens };
    if (now >= end) return { allowed: false, code: "start_too_late", at: end };
  }
  if (action === "no_show") {
    const opens = start + NO_SHOW_GRACE_MINUTES * MINUTE_MS;
    if (now < opens) return { allowed: false, code: "no_show_too_early", at: opens };
  }
  return { allowed: true, code: null, at: null };
}

/**
 * The next instant after `now` at which a timed action of the booking opens or closes
 * (null when none is ahead): when the buttons must be looked at again.
 * @param {{start: string, end: string}} booking
 * @param {number} now
 * @returns {number | null}
 */
export function nextWindowChange(booking, now) {
  const start = Date.parse(booking.start);
  const boundaries = [start - START_EARLY_MINUTES * MINUTE_MS, Date.parse(booking.end), start + NO_SHOW_GRACE_MINUTES * MINUTE_MS];
  const ahead = boundaries.filter((at) => at > now);
  return ahead.length ? Math.min(...ahead) : null;
}
