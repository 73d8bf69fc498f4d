// @ts-check
/**
 * How an audit entry reads on the Users page: what happened, to whom, by whom. The
 * vocabulary is the platform's (docs/auth.md, "Audit log"; docs/vehicles.md for VIN claims
 * and mileage corrections); an event this list does not know reads as its own name.
 * Pure (no DOM), tested by node --test.
 */

/** @type {Record<string, string>} */
const TITLES = {
  registered: "Registered",
  registration_for_existing_account: "Someone tried to register this address again",
  email_confirmed: "Email address confirmed",
  login_succeeded: "Signed in",
  login_failed: "Sign-in failed",
  lockout: "Sign-in attempts locked",
  refresh_reused: "A used refresh token came back: session revoked",
  logout_all: "Signed out everywhere",
  password_changed: "Password changed",
  role_changed: "Role changed",
  account_deactivated: "Account deactivated",
  account_reactivated: "Account reactivated",
  mileage_corrected: "Mileage corrected",
  vin_claim_opened: "VIN claim opened",
  vin_claim_approved: "VIN claim approved",
  vin_claim_rejected: "VIN claim rejected",
};

/** Every event the platform records, in the order a filter lists them. */
export const AUDIT_EVENTS = Object.keys(TITLES);

/** @param {string} event */
export function eventTitle(event) {
  return TITLES[event] ?? event.replaceAll("_", " ");
}

/** Events that are failures or attacks (the log's WARNING severity). */
export const WARNING_EVENTS = new Set(["login_failed", "lockout", "refresh_reused", "registration_for_existing_account"]);

/** @param {string} role */
const roleName = (role) => role.replaceAll("_", " ");

/**
 * @param {{event: string, actor_id: string | null, subject_id: string | null, details: Record<string, any>}} entry
 * @param {Record<string, {email: string | null, full_name: string | null}>} people
 * @returns {{title: string, detail: string, actor: string, warning: boolean}}
 */
export function describeAudit(entry, people) {
  const d = entry.details ?? {};
  let detail = "";
  if (entry.event === "role_changed" && d.from && d.to) detail = `from ${roleName(d.from)} to ${roleName(d.to)}`;
  else if (entry.event === "lockout" && d.scope) detail = d.scope === "network" ? "for the whole network" : "for this address and network";
  else if (entry.event === "mileage_corrected" && d.from_km != null) detail = `from ${d.from_km} km to ${d.to_km} km${d.reason ? `: ${d.reason}` : ""}`;
  else if (entry.event.startsWith("vin_claim_") && d.vin) detail = `VIN ${d.vin}${d.reason ? `: ${d.reason}` : ""}`;
  else if (entry.event === "login_failed" && d.known_account === false) detail = "no account has this address";
  return {
    title: eventTitle(entry.event),
    detail,
    actor: personName(entry.actor_id, people, entry.subject_id),
    warning: WARNING_EVENTS.has(entry.event),
  };
}

/**
 * "Ada Lovelace", "themselves", "nobody signed in", or the id when the account is gone.
 * @param {string | null} userId
 * @param {Record<string, {email: string | null, full_name: string | null}>} people
 * @param {string | null} [subjectId] the entry's subject: acting on oneself reads "themselves"
 */
export function personName(userId, people, subjectId = null) {
  if (!userId) return "nobody signed in";
  if (userId === subjectId) return "themselves";
  const person = people[userId];
  if (!person) return `user ${userId.slice(0, 8)}…`;
  return person.full_name || person.email || `user ${userId.slice(0, 8)}…`;
}
