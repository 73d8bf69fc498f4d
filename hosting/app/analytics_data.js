// @ts-check
/**
 * The Analytics page's figures over days, from the list routes (bookings, alerts), and the
 * snapshot the monitoring function counts by aggregation queries (`/stats/database`).
 * The lists give the history (when each booking is, when each alert opened and resolved);
 * the aggregation counts are exact for the whole platform now, so the page shows them beside
 * the history and says when the history is short of them. Pure (no DOM), tested by node --test.
 */

import { addDays, localDate, localDayBounds } from "./time.js";

export const BOOKING_STATUSES = ["requested", "confirmed", "in_progress", "completed", "cancelled", "no_show"];
export const SEVERITIES = ["critical", "high"];

/**
 * Consecutive local dates from `first` to `last`, both included.
 * @param {string} first YYYY-MM-DD
 * @param {string} last
 */
export function dateRange(first, last) {
  /** @type {string[]} */
  const days = [];
  for (let day = first; day <= last; day = addDays(day, 1)) days.push(day);
  return days;
}

/**
 * Bookings per local day of their slot's start.
 * @param {{start: string}[]} bookings
 * @param {string[]} days local dates, in order
 * @param {string} timeZone
 * @returns {number[]} aligned with `days`
 */
export function bookingsPerDay(bookings, days, timeZone) {
  /** @type {Record<string, number>} */
  const perDay = {};
  for (const booking of bookings) {
    const date = localDate(Date.parse(booking.start), timeZone);
    perDay[date] = (perDay[date] ?? 0) + 1;
  }
  return days.map((day) => perDay[day] ?? 0);
}

/**
 * How many alerts of each severity were open at the end of each local day (at `now` for
 * today): opened by then and not resolved by then. The last value is the number open now.
 * @param {{severity: string, opened_at?: string | null, resolved_at?: string | null}[]} alerts open and resolved
 * @param {string[]} days local dates, in order, none after today
 * @param {string} timeZone
 * @param {number} now epoch ms
 * @returns {Record<string, number[]>} severity → counts aligned with `days`
 */
export function openAlertsPerDay(alerts, days, timeZone, now) {
  const ends = days.map((day) => Math.min(localDayBounds(day, timeZone).end, now));
  /** @type {Record<string, number[]>} */
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, ends.map(() => 0)]));
  for (const alert of alerts) {
    if (!alert.opened_at) continue; // older data without an opening time: no day to count it on
    const opened = Date.parse(alert.opened_at);
    const resolved = alert.resolved_at ? Date.parse(alert.resolved_at) : Infinity;
    const row = counts[alert.severity] ?? (counts[alert.severity] = ends.map(() => 0));
    ends.forEach((end, index) => {
      if (opened <= end && resolved > end) row[index] += 1;
    });
  }
  return counts;
}

/**
 * The `count` of each key of an aggregation group, in `order` first, then any other key the
 * server added (a new status must not vanish from the chart).
 * @param {Record<string, {count: number}> | undefined} group
 * @param {string[]} order
 * @returns {{key: string, count: number}[]}
 */
export function groupCounts(group, order) {
  if (!group) return [];
  const keys = [...order.filter((key) => key in group), ...Object.keys(group).filter((key) => !order.includes(key))];
  return keys.map((key) => ({ key, count: group[key].count }));
}

/**
 * What the history drawn from the lists misses against the exact counts: the alerts open now
 * per severity by both sources, and whether they differ (a list cut at its page limit, or
 * an alert opened or resolved between the two reads).
 * @param {Record<string, number[]>} history from {@link openAlertsPerDay}
 * @param {Record<string, {count: number}> | undefined} exact `open_alerts_by_severity`
 * @returns {{severity: string, listed: number, exact: number | null}[]}
 */
export function openNowComparison(history, exact) {
  return SEVERITIES.map((severity) => {
    const row = history[severity] ?? [];
    return { severity, listed: row.length ? row[row.length - 1] : 0, exact: exact?.[severity]?.count ?? null };
  });
}
