// @ts-check
/**
 * The audit trail (admin, `audit:read`): security events newest first — sign-ins and their
 * failures, lockouts, role changes, (de)activations, VIN claim decisions, mileage
 * corrections — each with who did it, to whom, from which address and the request id that
 * leads to its log lines. {@link AuditTrail} is also one user's trail on the Users page.
 */

import { useApp } from "../context.js";
import { Empty, ErrorBanner, Field, LoadMore, Loading, PageHeader } from "../components.js";
import { html, useState } from "../html.js";
import { dateTime } from "../format.js";
import { AUDIT_EVENTS, describeAudit, eventTitle, personName } from "../audit_text.js";
import { useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { browserTimeZone, localDayBounds } from "../time.js";

const PAGE_SIZE = 25;

/**
 * Entries matching `filters`, newest first, with "Load more".
 * @param {{filters: import("/sdk/api.js").AuditQuery, showSubject?: boolean, label: string}} props
 */
export function AuditTrail({ filters, showSubject = true, label }) {
  const { client } = useApp();
  // Callers give each set of filters its own `key`, so a change starts again at page one.
  const [pages, setPages] = useState(1);
  const key = JSON.stringify(filters);
  const state = useData(async () => {
    /** @type {import("/sdk/api.js").AuditEntry[]} */
    const items = [];
    /** @type {Record<string, {email: string | null, full_name: string | null}>} */
    const people = {};
    let cursor = null;
    for (let page = 0; page < pages; page += 1) {
      const reply = await client.audit.list({ ...filters, limit: PAGE_SIZE, cursor: cursor ?? undefined });
      items.push(...reply.items);
      Object.assign(people, reply.people);
      cursor = reply.next_cursor;
      if (!cursor) break;
    }
    return { items, people, more: !!cursor };
  }, [key, pages]);
  const data = state.data;
  return html`<div class="audit" aria-busy=${state.loading}>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} title="The audit trail could not be loaded" />
    ${!data && !state.error ? html`<${Loading} rows=${4} label="Loading the audit trail" />` : null}
    ${data && !data.items.length ? html`<${Empty} title="No events.">Nothing was recorded that matches.<//>` : null}
    ${data?.items.length
      ? html`<ol class="audit-trail" aria-label=${label} data-testid="audit-trail">
          ${data.items.map((entry) => {
            const text = describeAudit(entry, data.people);
            return html`<li key=${entry.id} class=${text.warning ? "audit-entry audit-warning" : "audit-entry"} data-event=${entry.event}>
              <p class="audit-head"><time datetime=${entry.at}>${dateTime(entry.at)}</time> · <strong>${text.title}</strong>${text.detail ? ` ${text.detail}` : ""}</p>
              <p class="muted">
                by ${text.actor}${showSubject && entry.subject_id ? html`, account of ${personName(entry.subject_id, data.people)}` : null}
                ${entry.ip ? html` · from ${entry.ip}` : null}
                ${entry.request_id ? html` · request <code>${entry.request_id}</code>` : null}
              </p>
            </li>`;
          })}
        </ol>
        <${LoadMore} more=${data.more} loading=${state.loading} count=${data.items.length} noun="event" onMore=${() => setPages(pages + 1)} />`
      : null}
  </div>`;
}

/** The whole audit trail, filtered by event and day (the browser's days). */
export function AuditPage() {
  const { query } = useLocation();
  const event = query.get("event") ?? "";
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  const zone = browserTimeZone();
  /** @type {import("/sdk/api.js").AuditQuery} */
  const filters = {};
  if (event) filters.event = event;
  if (from) filters.from = new Date(localDayBounds(from, zone).start).toISOString();
  if (to) filters.to = new Date(localDayBounds(to, zone).end).toISOString();
  const subject = query.get("subject");
  if (subject) filters.subject_id = subject;
  return html`<section>
    <${PageHeader} title="Audit log"><p class="muted">Security events on the platform, newest first. Days are ${zone}'s.</p><//>
    <form class="filters" aria-label="Filter the audit log" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${Field} id="audit-event" label="Event">
        <select id="audit-event" value=${event} onChange=${(/** @type {any} */ e) => setQuery({ event: e.target.value })}>
          <option value="">Any</option>
          ${AUDIT_EVENTS.map((name) => html`<option value=${name}>${eventTitle(name)}</option>`)}
        </select>
      <//>
      <${Field} id="audit-from" label="From (day)">
        <input id="audit-from" type="date" value=${from} onChange=${(/** @type {any} */ e) => setQuery({ from: e.target.value })} />
      <//>
      <${Field} id="audit-to" label="To (day, included)">
        <input id="audit-to" type="date" value=${to} onChange=${(/** @type {any} */ e) => setQuery({ to: e.target.value })} />
      <//>
      ${event || from || to || subject
        ? html`<button type="button" class="button button-link" onClick=${() => setQuery({ event: null, from: null, to: null, subject: null })}>Clear filters</button>`
        : null}
    </form>
    <${AuditTrail} key=${JSON.stringify(filters)} filters=${filters} label="Audit log" />
  </section>`;
}
