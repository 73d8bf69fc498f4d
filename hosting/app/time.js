// @ts-check
/**
 * Dates and times in a service center's own time zone, with Intl only (no DOM, no library).
 *
 * The bookings API speaks center-local times with offsets ("2026-11-30T08:00:00+01:00").
 * Its list takes one center-local day (`date`, what the day view asks for) or UTC calendar
 * days (`from`/`to`); a range of local days in another zone spans other UTC dates, and
 * {@link utcDatesCovering} names the range to ask for before the exact days are cut out of
 * the answer by instant (the overview's week, the analytics' 30 days).
 */

/** @type {Map<string, Intl.DateTimeFormat>} */
const partFormats = new Map();

/** @param {string} timeZone */
function partsFormat(timeZone) {
  let format = partFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    partFormats.set(timeZone, format);
  }
  return format;
}

/**
 * The wall-clock fields of `instant` in `timeZone`.
 * @param {number} instant epoch ms
 * @param {string} timeZone
 */
export function zonedParts(instant, timeZone) {
  /** @type {Record<string, string>} */
  const parts = {};
  for (const part of partsFormat(timeZone).formatToParts(new Date(instant))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: parts.weekday.toLowerCase().slice(0, 3),
  };
}

/**
 * Minutes to add to UTC to get the zone's wall clock at `instant` (+60 for CET).
 * @param {number} instant
 * @param {string} timeZone
 */
export function offsetMinutes(instant, timeZone) {
  const p = zonedParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60000);
}

/**
 * The instant a wall-clock time happens in `timeZone` (the earlier one in a DST overlap).
 * @param {string} date YYYY-MM-DD
 * @param {number} minutes since local midnight
 * @param {string} timeZone
 */
export function zonedInstant(date, minutes, timeZone) {
  const [y, m, d] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d) + minutes * 60000;
  let guess = wall - offsetMinutes(wall, timeZone) * 60000;
  guess = wall - offsetMinutes(guess, timeZone) * 60000;
  return guess;
}

/**
 * The local calendar date (YYYY-MM-DD) of `instant` in `timeZone`.
 * @param {number} instant
 * @param {string} timeZone
 */
export function localDate(instant, timeZone) {
  const p = zonedParts(instant, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/**
 * [start, end) of a local day as epoch ms (23 or 25 hours long on DST days).
 * @param {string} date
 * @param {string} timeZone
 */
export function localDayBounds(date, timeZone) {
  return { start: zonedInstant(date, 0, timeZone), end: zonedInstant(addDays(date, 1), 0, timeZone) };
}

/**
 * @param {string} date YYYY-MM-DD
 * @param {number} days
 */
export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The UTC dates (`from` inclusive, `to` exclusive, as the bookings list takes them) whose
 * span contains every instant in [start, end).
 * @param {number} start
 * @param {number} end
 */
export function utcDatesCovering(start, end) {
  return { from: new Date(start).toISOString().slice(0, 10), to: addDays(new Date(end - 1).toISOString().slice(0, 10), 1) };
}

/**
 * Minutes since the local midnight of `date` at which `instant` falls (may exceed 1440).
 * @param {number} instant
 * @param {string} date
 * @param {string} timeZone
 */
export function minutesIntoLocalDay(instant, date, timeZone) {
  return Math.round((instant - localDayBounds(date, timeZone).start) / 60000);
}

/** @param {string} text "HH:MM" */
export function clockToMinutes(text) {
  const [h, m] = text.split(":").map(Number);
  return h * 60 + m;
}

/** @param {number} minutes */
export function minutesToClock(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/**
 * The weekday key ("mon".."sun") of a local date.
 * @param {string} date
 */
export function weekdayOf(date) {
  const [y, m, d] = date.split("-").map(Number);
  return ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
}

/**
 * Monday of the ISO week holding `date`.
 * @param {string} date
 */
export function weekStart(date) {
  const index = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].indexOf(weekdayOf(date));
  return addDays(date, -index);
}

/** The browser's own zone (for people not tied to a center). */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
