// @ts-check
/**
 * The time zone and center a user works in: center staff see their center's local day;
 * everyone else their browser's. Cached per page load (a center's zone rarely changes).
 */

import { CENTER_ROLES } from "./permissions.js";
import { browserTimeZone } from "./time.js";

/** @type {Map<string, Promise<import("/sdk/api.js").Center>>} */
const centers = new Map();

/**
 * @param {import("/sdk/api.js").Pmi} client
 * @param {string} centerId
 */
export function centerById(client, centerId) {
  let center = centers.get(centerId);
  if (!center) {
    center = client.centers.get(centerId);
    centers.set(centerId, center);
    center.catch(() => centers.delete(centerId));
  }
  return center;
}

/**
 * @param {import("/sdk/api.js").Pmi} client
 * @param {import("/sdk/session.js").User} user
 * @returns {Promise<{timeZone: string, center: import("/sdk/api.js").Center | null}>}
 */
export async function workScope(client, user) {
  if (CENTER_ROLES.has(user.role) && user.service_center_id) {
    const center = await centerById(client, user.service_center_id);
    return { timeZone: center.time_zone, center };
  }
  return { timeZone: browserTimeZone(), center: null };
}

/**
 * Every center (the network is small; bounded at 500).
 * @param {import("/sdk/api.js").Pmi} client
 */
export async function allCenters(client) {
  /** @type {import("/sdk/api.js").Center[]} */
  const items = [];
  let cursor = null;
  do {
    const page = await client.centers.list({ limit: 100, cursor: cursor ?? undefined });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 500);
  for (const center of items) centers.set(center.id, Promise.resolve(center));
  return items;
}
