// @ts-check
/**
 * Users (admin): find people by role, status, email or name; change a role; deactivate or
 * reactivate — each change confirmed first, effective on the user's next request — and
 * read a user's audit trail (what happened to the account, and who did it).
 *
 * Every filter runs on the server: role and status, and the search box (`q`: the email,
 * or any word of the name, from its start), typed text sent once the typing pauses.
 */

import { useApp } from "../context.js";
import { ConfirmDialog, Dialog, Empty, ErrorBanner, Field, LoadMore, Loading, PageHeader } from "../components.js";
import { html, useEffect, useState } from "../html.js";
import { ago } from "../format.js";
import { AuditTrail } from "./audit.js";
import { CENTER_ROLES, ROLE_LABELS, can } from "../permissions.js";
import { refreshAll, useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { allCenters } from "../scope.js";

const PAGE_SIZE = 50;
// Typing pauses this long before the search is sent (one request per word, not per key).
const SEARCH_DELAY_MS = 300;

export function UsersPage() {
  const { client, user: me } = useApp();
  const { query } = useLocation();
  const role = query.get("role") ?? "";
  const status = query.get("status") ?? "";
  const search = query.get("q") ?? "";
  const [pages, setPages] = useState(1);
  const [editing, setEditing] = useState(/** @type {{user: import("/sdk/session.js").User, kind: "role" | "active" | "audit"} | null} */ (null));
  const [draft, setDraft] = useState(search);
  const manage = can(me, "users:manage");
  const audit = can(me, "audit:read");

  useEffect(() => {
    if (draft.trim() === search.trim()) return;
    const timer = setTimeout(() => {
      setPages(1);
      setQuery({ q: draft.trim() });
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft]);

  const centers = useData(() => allCenters(client), []);
  const list = useData(async () => {
    /** @type {import("/sdk/session.js").User[]} */
    const items = [];
    let cursor = null;
    for (let page = 0; page < pages; page += 1) {
      const reply = await client.users.list({
        limit: PAGE_SIZE,
        role: /** @type {any} */ (role || undefined),
        active: status === "" ? undefined : status === "active",
        q: search.trim() || undefined,
        cursor: cursor ?? undefined,
      });
      items.push(...reply.items);
      cursor = reply.next_cursor;
      if (!cursor) break;
    }
    return { items, more: !!cursor };
  }, [role, status, search, pages]);

  const centerName = (/** @type {string | null} */ id) => (id ? centers.data?.find((c) => c.id === id)?.name ?? id : "–");
  const shown = list.data?.items ?? [];
  const change = (/** @type {Record<string, string | null>} */ changes) => {
    setPages(1);
    setQuery(changes);
  };

  return html`<section>
    <${PageHeader} title="Users" actions=${audit ? html`<a class="button" href="/audit">Audit log</a>` : null}>
      <p class="muted">Accounts on the platform, newest first.</p>
    <//>
    <form class="filters" role="search" aria-label="Find users" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${Field} id="users-search" label="Email or name">
        <input id="users-search" type="search" value=${draft} placeholder="e.g. lovelace" autocomplete="off"
          onInput=${(/** @type {any} */ e) => setDraft(e.target.value)} />
      <//>
      <${Field} id="users-role" label="Role">
        <select id="users-role" value=${role} onChange=${(/** @type {any} */ e) => change({ role: e.target.value })}>
          <option value="">Any</option>
          ${Object.entries(ROLE_LABELS).map(([value, text]) => html`<option value=${value}>${text}</option>`)}
        </select>
      <//>
      <${Field} id="users-status" label="Status">
        <select id="users-status" value=${status} onChange=${(/** @type {any} */ e) => change({ status: e.target.value })}>
          <option value="">Any</option><option value="active">Active</option><option value="inactive">Deactivated</option>
        </select>
      <//>
    </form>
    <${ErrorBanner} error=${list.error} onRetry=${list.reload} />
    ${!list.data && !list.error ? html`<${Loading} rows=${6} label="Loading users" />` : null}
    ${list.data && !shown.length
      ? html`<${Empty} title="No user matches.">${search.trim() ? `No email, and no word of a name, starts with “${search.trim()}”${role || status ? " among the users of this role and status" : ""}.` : null}<//>`
      : null}
    ${shown.length
      ? html`<div class="table-wrap" aria-busy=${list.loading}>
          <table class="table" data-testid="users-table">
            <caption class="visually-hidden">Users</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Center</th><th scope="col">Status</th><th scope="col">Last sign-in</th>${manage || audit ? html`<th scope="col">Actions</th>` : null}</tr></thead>
            <tbody>
              ${shown.map(
                (u) => html`<tr key=${u.id} data-user=${u.email}>
                  <th scope="row">${u.full_name || "–"}<div class="muted">${u.email}</div></th>
                  <td><span class="badge role-badge">${ROLE_LABELS[u.role] ?? u.role}</span></td>
                  <td>${centerName(u.service_center_id)}</td>
                  <td>${u.is_active ? html`<span class="badge status-confirmed">Active</span>` : html`<span class="badge status-cancelled">Deactivated</span>`}</td>
                  <td>${ago(u.last_login)}</td>
                  ${manage || audit
                    ? html`<td><div class="actions">
                        ${audit ? html`<button type="button" class="button button-small" onClick=${() => setEditing({ user: u, kind: "audit" })}>Audit trail</button>` : null}
                        ${!manage ? null : u.id === me.id
                          ? html`<span class="muted">you</span>`
                          : html`<button type="button" class="button button-small" onClick=${() => setEditing({ user: u, kind: "role" })}>Change role…</button>
                            <button type="button" class=${u.is_active ? "button button-small button-danger-outline" : "button button-small"} onClick=${() => setEditing({ user: u, kind: "active" })}>
                              ${u.is_active ? "Deactivate…" : "Reactivate…"}
                            </button>`}
                      </div></td>`
                    : null}
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <${LoadMore} more=${list.data?.more ?? false} loading=${list.loading} count=${shown.length} noun="user" onMore=${() => setPages(pages + 1)} />`
      : null}
    ${editing?.kind === "role" ? html`<${RoleDialog} target=${editing.user} centers=${centers.data ?? []} onClose=${() => setEditing(null)} />` : null}
    ${editing?.kind === "active" ? html`<${ActiveDialog} target=${editing.user} onClose=${() => setEditing(null)} />` : null}
    ${editing?.kind === "audit"
      ? html`<${Dialog} title=${`Audit trail of ${editing.user.full_name || editing.user.email}`} open=${true} wide onClose=${() => setEditing(null)}>
          <p class="muted">Events on ${editing.user.email}'s account, newest first. <a href=${`/audit?subject=${encodeURIComponent(editing.user.id)}`}>Open in the audit log</a></p>
          <${AuditTrail} filters=${{ subject_id: editing.user.id }} showSubject=${false} label=${`Audit trail of ${editing.user.email}`} />
        <//>`
      : null}
  </section>`;
}

/**
 * @param {{target: import("/sdk/session.js").User, centers: import("/sdk/api.js").Center[], onClose: () => void}} props
 */
function RoleDialog({ target, centers, onClose }) {
  const { client, toast } = useApp();
  const [role, setRole] = useState(target.role);
  const [center, setCenter] = useState(target.service_center_id ?? centers[0]?.id ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const needsCenter = CENTER_ROLES.has(role);
  const unchanged = role === target.role && (!needsCenter || center === target.service_center_id);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      /** @type {{role: any, service_center_id?: string}} */
      const changes = { role };
      if (needsCenter) changes.service_center_id = center;
      await client.users.update(target.id, changes);
      toast(`${target.email} is now ${ROLE_LABELS[role]}.`, "success");
      onClose();
      refreshAll();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return html`<${ConfirmDialog} open=${true} title=${`Change the role of ${target.full_name || target.email}`} confirmLabel="Change role"
    busy=${busy || unchanged} error=${error} onClose=${onClose} onConfirm=${confirm}
    message=${html`<div class="form">
      <p>Now ${ROLE_LABELS[target.role]}. The change applies on their next request.</p>
      <${Field} id="role-new" label="New role">
        <select id="role-new" value=${role} onChange=${(/** @type {any} */ e) => setRole(e.target.value)}>
          ${Object.entries(ROLE_LABELS).map(([value, text]) => html`<option value=${value}>${text}</option>`)}
        </select>
      <//>
      ${needsCenter
        ? html`<${Field} id="role-center" label="Service center (required for this role)">
            <select id="role-center" value=${center} onChange=${(/** @type {any} */ e) => setCenter(e.target.value)}>
              ${centers.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
            </select>
          <//>`
        : null}
    </div>`} />`;
}

/** @param {{target: import("/sdk/session.js").User, onClose: () => void}} props */
function ActiveDialog({ target, onClose }) {
  const { client, toast } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const deactivate = target.is_active;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await client.users.update(target.id, { is_active: !deactivate });
      toast(`${target.email} is ${deactivate ? "deactivated" : "active again"}.`, "success");
      onClose();
      refreshAll();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return html`<${ConfirmDialog} open=${true} danger=${deactivate} busy=${busy} error=${error} onClose=${onClose} onConfirm=${confirm}
    title=${deactivate ? `Deactivate ${target.full_name || target.email}?` : `Reactivate ${target.full_name || target.email}?`}
    confirmLabel=${deactivate ? "Deactivate" : "Reactivate"}
    message=${deactivate
      ? html`<p>${target.email} can no longer sign in, and every session they have ends now. You can reactivate the account later.</p>`
      : html`<p>${target.email} can sign in again (old sessions stay ended).</p>`} />`;
}

