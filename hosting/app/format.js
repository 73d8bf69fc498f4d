// @ts-check
/** How values read in the dashboard: times in a given zone, numbers, labels. No DOM. */

const timeFormats = new Map();

/**
 * @param {string} timeZone
 * @param {Intl.DateTimeFormatOptions} options
 */
function formatter(timeZone, options) {
  const key = `${timeZone}|${JSON.stringify(options)}`;
  let format = timeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", { timeZone, ...options });
    timeFormats.set(key, format);
  }
  return format;
}

/**
 * "Mon 30 Nov, 08:00" in the zone (the booking's center zone, or the browser's).
 * @param {string | number | null | undefined} value ISO 8601 or epoch ms
 * @param {string} [timeZone]
 */
export function dateTime(value, timeZone) {
  if (value == null || value === "") return "–";
  const zone = timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  return formatter(zone, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(value));
}

/**
 * "08:00" in the zone.
 * @param {string | number} value
 * @param {string} timeZone
 */
export function clock(value, timeZone) {
  return formatter(timeZone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(value));
}

/**
 * "30 Nov 2026".
 * @param {string | number | null | undefined} value
 */
export function day(value) {
  if (value == null || value === "") return "–";
  const date = typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00Z` : value;
  return formatter("UTC", { day: "numeric", month: "short", year: "numeric" }).format(new Date(date));
}

/**
 * "3 min ago", "2 h ago", "yesterday"-free plain units.
 * @param {string | number | null | undefined} value
 * @param {number} [now]
 */
export function ago(value, now = Date.now()) {
  if (value == null || value === "") return "never";
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} days ago`;
}

/**
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
export function number(value, digits = 0) {
  if (value == null || Number.isNaN(value)) return "–";
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * "0.5 %", "12 %": a share (0..1) as a percentage with up to two decimals.
 * @param {number} share
 */
export function percent(share) {
  const value = 100 * share;
  return `${number(value, Number.isInteger(value) ? 0 : value >= 10 ? 1 : 2)} %`;
}

/**
 * "42 s", "12 min", "3 h 5 min", "2 days 4 h".
 * @param {number} seconds
 */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const minutes = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
  }
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  return `${days} day${days === 1 ? "" : "s"}${hours ? ` ${hours} h` : ""}`;
}

/** @param {string | null | undefined} text e.g. "in_progress" → "In progress" */
export function label(text) {
  if (!text) return "–";
  const spaced = text.replaceAll("_", " ").replaceAll("-", " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** @param {string | null | undefined} id a short, still unique-enough form of an opaque id */
export function shortId(id) {
  return id ? `${id.slice(0, 8)}…` : "–";
}

/** @param {{amount: number, currency: string} | number | null | undefined} cost */
export function money(cost) {
  if (cost == null) return "–";
  if (typeof cost === "number") return number(cost, 2);
  return new Intl.NumberFormat("en-GB", { style: "currency", currency: cost.currency }).format(cost.amount);
}

/** @param {{make?: string | null, model?: string | null, year?: number | null, plate?: string | null, nickname?: string | null} | null | undefined} vehicle */
export function vehicleName(vehicle) {
  if (!vehicle) return "Unknown vehicle";
  const name = [vehicle.make, vehicle.model].filter(Boolean).join(" ");
  const extra = vehicle.nickname || vehicle.plate;
  return extra ? `${name} (${extra})` : name || "Vehicle";
}
