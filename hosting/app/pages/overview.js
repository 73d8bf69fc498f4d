// @ts-check
/**
 * Overview: the fleet, today's and this week's bookings by status, open alerts by
 * severity, and system health. Each card loads on its own, so one slow or failing source
 * never blanks the others. Counts come from the list routes (bounded reads, scoped to what
 * the role may see; "+" when a list was cut); the platform-wide exact counts by
 * aggregation are on the Analytics page (`/stats/database`).
 */

import { useApp } from "../context.js";
import { Bars, Empty, ErrorBanner, Loading, PageHeader } from "../components.js";
import { html } from "../html.js";
import { clock, label, number } from "../format.js";
import { healthFacts } from "../health_facts.js";
import { can, ROLE_LABELS } from "../permissions.js";
import { collect, useData } from "../refresh.js";
import { workScope } from "../scope.js";
import { addDays, browserTimeZone, localDate, localDayBounds, utcDatesCovering, weekStart } from "../time.js";

const STATUSES = ["requested", "confirmed", "in_progress", "completed", "cancelled", "no_show"];
const SEVERITIES = ["critical", "high"];
// Bounds the reads one refresh of the overview may cost.
const COUNT_LIMIT = 1000;

export function OverviewPage() {
  const { client, user } = useApp();
  return html`<section>
    <${PageHeader} title="Overview">
      <p class="muted">${scopeLine(user)}</p>
    <//>
    <div class="cards">
      <${BookingsCard} client=${client} user=${user} />
      <${AlertsCard} client=${client} />
      <${FleetCard} client=${client} />
      ${can(user, "users:read") ? html`<${UsersCard} client=${client} />` : null}
      <${HealthCard} client=${client} detailed=${can(user, "monitoring:read")} />
    </div>
  </section>`;
}

/** @param {import("/sdk/session.js").User} user */
function scopeLine(user) {
  if (user.role === "admin" || user.role === "viewer") return "The whole platform.";
  if (user.role === "customer") return "Your vehicles and bookings.";
  return "Your service center.";
}

/** @param {{count: number, complete: boolean}} props */
function Count({ count, complete }) {
  return html`${number(count)}${complete ? "" : "+"}`;
}

/** @param {{client: import("/sdk/api.js").Pmi, user: import("/sdk/session.js").User}} props */
function BookingsCard({ client, user }) {
  const state = useData(async () => {
    const { timeZone } = await workScope(client, user);
    const today = localDate(Date.now(), timeZone);
    const monday = weekStart(today);
    const week = { start: localDayBounds(monday, timeZone).start, end: localDayBounds(addDays(monday, 6), timeZone).end };
    const day = localDayBounds(today, timeZone);
    const { items, complete } = await collect(client.bookings.list, utcDatesCovering(week.start, week.end), COUNT_LIMIT);
    /** @type {Record<string, number>} */
    const todayCounts = {};
    /** @type {Record<string, number>} */
    const weekCounts = {};
    for (const booking of items) {
      const at = Date.parse(booking.start);
      if (at < week.start || at >= week.end) continue;
      weekCounts[booking.status] = (weekCounts[booking.status] ?? 0) + 1;
      if (at >= day.start && at < day.end) todayCounts[booking.status] = (todayCounts[booking.status] ?? 0) + 1;
    }
    return { todayCounts, weekCounts, complete, timeZone, today };
  }, []);
  return html`<article class="card card-wide" aria-labelledby="card-bookings">
    <h2 id="card-bookings">Bookings</h2>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${4} />` : null}
    ${state.data
      ? html`<p class="muted">Days in ${state.data.timeZone}; today is ${state.data.today}.</p>
          <div class="split">
            <div>
              <h3>Today <span class="total">${sum(state.data.todayCounts)}</span></h3>
              ${sum(state.data.todayCounts)
                ? html`<${Bars} counts=${state.data.todayCounts} order=${STATUSES} kind="status" />`
                : html`<${Empty} title="No bookings today." />`}
            </div>
            <div>
              <h3>This week <span class="total">${sum(state.data.weekCounts)}${state.data.complete ? "" : "+"}</span></h3>
              ${sum(state.data.weekCounts)
                ? html`<${Bars} counts=${state.data.weekCounts} order=${STATUSES} kind="status" />`
                : html`<${Empty} title="No bookings this week." />`}
            </div>
          </div>
          <p><a href="/bookings">All bookings</a>${user.role !== "customer" ? html` · <a href="/bookings/day">Today's workshop day</a>` : null}</p>`
      : null}
  </article>`;
}

/** @param {Record<string, number>} counts */
function sum(counts) {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** @param {{client: import("/sdk/api.js").Pmi}} props */
function AlertsCard({ client }) {
  const state = useData(async () => {
    const { items, complete } = await collect(client.vehicles.alerts, { status: "open" }, COUNT_LIMIT);
    /** @type {Record<string, number>} */
    const counts = {};
    for (const alert of items) counts[alert.severity] = (counts[alert.severity] ?? 0) + 1;
    return { counts, total: items.length, complete };
  }, []);
  return html`<article class="card" aria-labelledby="card-alerts">
    <h2 id="card-alerts">Open alerts</h2>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${2} />` : null}
    ${state.data
      ? state.data.total
        ? html`<p class="figure"><${Count} count=${state.data.total} complete=${state.data.complete} /></p>
            <${Bars} counts=${state.data.counts} order=${SEVERITIES} kind="severity" />`
        : html`<${Empty} title="No open alerts.">Every vehicle in view is free of high or critical findings.<//>`
      : null}
  </article>`;
}

/** @param {{client: import("/sdk/api.js").Pmi}} props */
function FleetCard({ client }) {
  const state = useData(async () => {
    const { items, complete } = await collect(client.vehicles.list, {}, COUNT_LIMIT);
    const scored = items.filter((v) => v.health_score != null);
    const average = scored.length ? scored.reduce((a, v) => a + Number(v.health_score), 0) / scored.length : null;
    const due = items.filter((v) => (v.due_services ?? []).length > 0).length;
    return { count: items.length, complete, average, due };
  }, []);
  return html`<article class="card" aria-labelledby="card-fleet">
    <h2 id="card-fleet">Vehicles</h2>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${2} />` : null}
    ${state.data
      ? state.data.count
        ? html`<p class="figure"><${Count} count=${state.data.count} complete=${state.data.complete} /></p>
            <dl class="facts">
              <dt>Average health score</dt><dd>${state.data.average == null ? "–" : number(state.data.average)}</dd>
              <dt>With service due</dt><dd>${state.data.due}</dd>
            </dl>
            <p><a href="/vehicles">All vehicles</a></p>`
        : html`<${Empty} title="No vehicles yet." />`
      : null}
  </article>`;
}

/** @param {{client: import("/sdk/api.js").Pmi}} props */
function UsersCard({ client }) {
  const state = useData(async () => {
    const { items, complete } = await collect(client.users.list, {}, COUNT_LIMIT);
    /** @type {Record<string, number>} */
    const counts = {};
    for (const user of items) counts[user.role] = (counts[user.role] ?? 0) + 1;
    return { counts, total: items.length, inactive: items.filter((u) => !u.is_active).length, complete };
  }, []);
  return html`<article class="card" aria-labelledby="card-users">
    <h2 id="card-users">Users</h2>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${2} />` : null}
    ${state.data
      ? html`<p class="figure"><${Count} count=${state.data.total} complete=${state.data.complete} /></p>
          <dl class="facts">
            ${Object.keys(ROLE_LABELS).map((role) => html`<dt>${ROLE_LABELS[role]}</dt><dd>${state.data?.counts[role] ?? 0}</dd>`)}
            <dt>Deactivated</dt><dd>${state.data.inactive}</dd>
          </dl>
          <p><a href="/users">Manage users</a></p>`
      : null}
  </article>`;
}

/**
 * System health: for roles holding `monitoring:read`, the detailed report — status and the
 * reasons when degraded, the last 5 minutes' requests, 5xx share and p95 against the
 * thresholds they are judged by, Firestore, uptime; the public status and version for
 * everyone else.
 * @param {{client: import("/sdk/api.js").Pmi, detailed: boolean}} props
 */
function HealthCard({ client, detailed }) {
  const state = useData(
    () => (detailed ? client.monitoring.healthDetailed() : client.monitoring.health()),
    [detailed],
  );
  /** @type {Partial<import("/sdk/api.js").MonitoringHealthDetailed> | null} */
  const health = state.data;
  return html`<article class="card" aria-labelledby="card-health" data-testid="health-card">
    <h2 id="card-health">System health</h2>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} title="Health report unavailable" />
    ${!health && !state.error ? html`<${Loading} rows=${2} />` : null}
    ${health
      ? html`<p class="figure"><span class=${`badge health-${health.status}`} data-status=${health.status}>${label(health.status)}</span></p>
          ${health.reasons?.length
            ? html`<ul class="health-reasons" aria-label="Why it is degraded">${health.reasons.map((reason) => html`<li>${reason}</li>`)}</ul>`
            : null}
          <dl class="facts">
            ${healthFacts(health).map(
              (fact) => html`<dt>${fact.term}</dt><dd class=${fact.over ? "over" : undefined}>${fact.detail}</dd>`,
            )}
          </dl>
          ${health.performance?.read_at
            ? html`<p class="muted">Every function, every instance; figures read ${clock(health.performance.read_at, browserTimeZone())}.</p>`
            : null}`
      : null}
  </article>`;
}
