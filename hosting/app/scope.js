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

/** @type {Map<string, Promise<import("/sdk/api.js").TeamMember[]>>} */
const teams = new Map();

/**
 * A center's mechanics by name (`GET /centers/{id}/team`: its staff and admins), cached per
 * page load like the centers (a team changes rarely; a reload shows a change).
 * @param {import("/sdk/api.js").Pmi} client
 * @param {string} centerId
 */
export function teamOf(client, centerId) {
  let team = teams.get(centerId);
  if (!team) {
    team = client.centers.team(centerId).then((reply) => reply.items);
    teams.set(centerId, team);
    team.catch(() => teams.delete(centerId));
  }
  return team;
}

/**
 * Who may read a center's team: its staff and mechanics, and admins (`bookings:work`).
 * @param {import("/sdk/session.js").User} user
 * @param {string} centerId
 */
export function mayReadTeam(user, centerId) {
  return user.role === "admin" || (CENTER_ROLES.has(user.role) && user.service_center_id === centerId);
}

/**
 * Mechanic names of the given centers the user may read (`{id: name}`), for showing who a
 * booking is assigned to; a center whose team cannot be read adds nothing.
 * @param {import("/sdk/api.js").Pmi} client
 * @param {import("/sdk/session.js").User} user
 * @param {Iterable<string>} centerIds
 * @returns {Promise<Record<string, string>>}
 */
export async function mechanicNames(client, user, centerIds) {
  /** @type {Record<string, string>} */
  const names = {};
  const readable = [...new Set(centerIds)].filter((id) => mayReadTeam(user, id));
  const found = await Promise.all(readable.map((id) => teamOf(client, id).catch(() => [])));
  for (const member of found.flat()) if (member.full_name) names[member.id] = member.full_name;
  return names;
}
