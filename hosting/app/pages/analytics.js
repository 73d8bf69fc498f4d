// @ts-check
/**
 * Analytics, each chart from the source that has its figures (docs/dashboard.md lists them):
 *
 * - bookings per day (30 days back, 14 ahead) from the bookings list, beside the exact
 *   count of bookings by status from `/api/monitoring/stats/database` (aggregation queries);
 * - open alerts by severity at the end of each day from the alerts lists (open and
 *   resolved: when each opened and resolved), beside the exact number open now from
 *   `/stats/database`;
 * - the platform now (users by role, new users, telemetry readings, documents) from
 *   `/stats/database`;
 * - requests per minute, p50/p95 latency and error rate per function from
 *   `/api/monitoring/stats/performance` (every instance merged), over 5 minutes, an hour or
 *   a day.
 *
 * A deployment without the statistics routes (404) gets a clear "not available" panel in
 * their place; the charts from the lists still work.
 */

import { NotFoundError } from "/sdk/index.js";
import { useApp } from "../context.js";
import { Bars, Empty, ErrorBanner, Loading, PageHeader } from "../components.js";
import { TimeChart } from "../charts.js";
import { html, useMemo } from "../html.js";
import { clock, label, number, percent } from "../format.js";
import { performanceCharts } from "../perf_charts.js";
import {
  BOOKING_STATUSES,
  SEVERITIES,
  bookingsPerDay,
  dateRange,
  groupCounts,
  openAlertsPerDay,
  openNowComparison,
} from "../analytics_data.js";
import { collect, useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { addDays, browserTimeZone, localDate, localDayBounds, utcDatesCovering } from "../time.js";

const WINDOWS = /** @type {const} */ ({ "5m": "5 minutes", "1h": "hour", "24h": "24 hours" });

const DAYS_BACK = 30;
const DAYS_AHEAD = 14;
const DAY_SECONDS = 86400;
// Bounds the reads one refresh of the history may cost (the exact totals come from
// /stats/database, so a cut list is visible as a difference, not a silent undercount).
const BOOKINGS_LIMIT = 2000;
const ALERTS_LIMIT = 1000;
const SEVERITY_COLORS = /** @type {Record<string, string>} */ ({ critical: "#8c1d18", high: "#b35c00" });
const ROLES = ["admin", "service_center", "mechanic", "customer", "viewer"];

/**
 * `/stats/database`, or `{stats: null, available: false}` where the route is not deployed.
 * @typedef {{stats: import("/sdk/api.js").DatabaseStats | null, available: boolean}} DatabaseState
 */

export function AnalyticsPage() {
  const { client } = useApp();
  const zone = browserTimeZone();
  const today = localDate(Date.now(), zone);
  const database = useData(async () => {
    try {
      return /** @type {DatabaseState} */ ({ stats: await client.monitoring.database(), available: true });
    } catch (error) {
      if (error instanceof NotFoundError) return /** @type {DatabaseState} */ ({ stats: null, available: false });
      throw error;
    }
  }, []);
  return html`<section>
    <${PageHeader} title="Analytics"><p class="muted">Days in ${zone}.</p><//>
    <div class="cards">
      <${BookingsCard} today=${today} zone=${zone} database=${database} />
      <${AlertsCard} today=${today} zone=${zone} database=${database} />
      <${PlatformCard} database=${database} />
    </div>
    <${PerformancePanel} />
  </section>`;
}

/**
 * @typedef {object} DatabaseProps
 * @property {string} today
 * @property {string} zone
 * @property {{data: DatabaseState | null, error: unknown, reload: () => void}} database
 */

/** @param {DatabaseProps} props */
function BookingsCard({ today, zone, database }) {
  const { client } = useApp();
  const first = addDays(today, -DAYS_BACK + 1);
  const last = addDays(today, DAYS_AHEAD);
  const days = useMemo(() => dateRange(first, last), [first, last]);
  const state = useData(async () => {
    const span = { start: localDayBounds(first, zone).start, end: localDayBounds(last, zone).end };
    const { items, complete } = await collect(client.bookings.list, utcDatesCovering(span.start, span.end), BOOKINGS_LIMIT);
    const inside = items.filter((b) => {
      const at = Date.parse(b.start);
      return at >= span.start && at < span.end;
    });
    return { values: bookingsPerDay(inside, days, zone), count: inside.length, complete };
  }, [first, last]);
  const times = useMemo(() => days.map((d) => localDayBounds(d, zone).start), [days]);
  const series = useMemo(
    () => (state.data ? [{ label: "Bookings", color: "#0b5cad", values: state.data.values }] : []),
    [state.data],
  );
  const stats = database.data?.stats;
  const total = stats?.collections.bookings?.count;
  return html`<article class="card card-wide" aria-labelledby="an-bookings" data-testid="bookings-per-day">
    <h2 id="an-bookings">Bookings per day</h2>
    <p class="muted">By the day of the appointment: the last ${DAYS_BACK} days and the next ${DAYS_AHEAD}.</p>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${3} />` : null}
    ${state.data
      ? html`<${TimeChart} title="Bookings per day" times=${times} series=${series} bars counts height=${200} timeZone=${zone} stepSeconds=${DAY_SECONDS} />
          <p class="muted chart-note" data-testid="bookings-coverage">
            ${number(state.data.count)}${state.data.complete ? "" : "+"} booking${state.data.count === 1 ? "" : "s"} in these days${total != null ? html`, of ${number(total)} in all` : null}${state.data.complete ? "" : html` — the chart counts the first ${number(BOOKINGS_LIMIT)} only`}.
          </p>`
      : null}
    <${ExactCounts} database=${database} title="All bookings by status" testid="bookings-by-status"
      rows=${groupCounts(stats?.bookings_by_status, BOOKING_STATUSES)} kind="status" />
  </article>`;
}

/** @param {DatabaseProps} props */
function AlertsCard({ today, zone, database }) {
  const { client } = useApp();
  const first = addDays(today, -DAYS_BACK + 1);
  const days = useMemo(() => dateRange(first, today), [first, today]);
  const state = useData(async () => {
    const [open, resolved] = await Promise.all([
      collect(client.vehicles.alerts, { status: "open" }, ALERTS_LIMIT),
      collect(client.vehicles.alerts, { status: "resolved" }, ALERTS_LIMIT),
    ]);
    return { perDay: openAlertsPerDay([...open.items, ...resolved.items], days, zone, Date.now()), complete: open.complete && resolved.complete };
  }, [first, today]);
  const times = useMemo(() => days.map((d) => localDayBounds(d, zone).start), [days]);
  const series = useMemo(
    () =>
      state.data
        ? SEVERITIES.map((severity) => ({ label: label(severity), color: SEVERITY_COLORS[severity], values: state.data?.perDay[severity] ?? [] }))
        : [],
    [state.data],
  );
  const stats = database.data?.stats;
  const differences = state.data && stats ? openNowComparison(state.data.perDay, stats.open_alerts_by_severity).filter((c) => c.exact != null && c.exact !== c.listed) : [];
  return html`<article class="card card-wide" aria-labelledby="an-alerts" data-testid="alerts-over-time">
    <h2 id="an-alerts">Open alerts by severity</h2>
    <p class="muted">Open at the end of each day (now, for today): opened by then and not yet resolved.</p>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${3} />` : null}
    ${state.data
      ? html`<${TimeChart} title="Open alerts by severity" times=${times} series=${series} counts height=${200} timeZone=${zone} stepSeconds=${DAY_SECONDS} />
          ${state.data.complete ? null : html`<p class="muted chart-note">The history reads the newest ${number(ALERTS_LIMIT)} open and ${number(ALERTS_LIMIT)} resolved alerts only.</p>`}
          ${differences.length
            ? html`<p class="muted chart-note" data-testid="alerts-difference">
                Open now by the lists: ${differences.map((c) => `${c.listed} ${c.severity}`).join(", ")}; counted exactly: ${differences.map((c) => `${c.exact} ${c.severity}`).join(", ")}
                (a list cut at its limit, or an alert opened or resolved in between).
              </p>`
            : null}`
      : null}
    <${ExactCounts} database=${database} title="Open now" testid="open-alerts-now"
      rows=${groupCounts(stats?.open_alerts_by_severity, SEVERITIES)} kind="severity" />
  </article>`;
}

/**
 * The exact counts of one `/stats/database` group as bars.
 * @param {{database: DatabaseProps["database"], title: string, testid: string, rows: {key: string, count: number}[], kind: string}} props
 */
function ExactCounts({ database, title, testid, rows, kind }) {
  // Without /stats/database (404) the platform card below says so once.
  if (!database.data?.stats) return null;
  const counts = Object.fromEntries(rows.map((row) => [row.key, row.count]));
  const sum = rows.reduce((a, row) => a + row.count, 0);
  return html`<div data-testid=${testid}>
    <h3>${title} <span class="total">${number(sum)}</span></h3>
    <${Bars} counts=${counts} order=${rows.map((row) => row.key)} kind=${kind} label=${title} />
  </div>`;
}

/** @param {{database: DatabaseProps["database"]}} props */
function PlatformCard({ database }) {
  const stats = database.data?.stats;
  return html`<article class="card card-wide" aria-labelledby="an-platform" data-testid="database">
    <h2 id="an-platform">The platform now</h2>
    <${ErrorBanner} error=${database.error} onRetry=${database.reload} title="Database statistics could not be loaded" />
    ${!database.data && !database.error ? html`<${Loading} rows=${3} label="Loading database statistics" />` : null}
    ${database.data?.available === false
      ? html`<div data-testid="database-unavailable">
          <${Empty} title="Database statistics are not available on this deployment.">
            Exact counts appear here once the monitoring function serves <code>/api/monitoring/stats/database</code>.
          <//>
        </div>`
      : null}
    ${stats
      ? html`<div class="snapshot">
            <div data-testid="users-by-role">
              <h3>Users by role <span class="total">${number(stats.collections.users?.count)}</span></h3>
              <${Bars} counts=${Object.fromEntries(groupCounts(stats.users_by_role, ROLES).map((r) => [r.key, r.count]))}
                order=${groupCounts(stats.users_by_role, ROLES).map((r) => r.key)} kind="role" label="Users by role" />
            </div>
            <dl class="facts" data-testid="platform-facts">
              <dt>New users, last 7 days</dt><dd>${number(stats.new_users_last_7_days.count)}</dd>
              <dt>Telemetry readings, last 24 h</dt><dd>${number(stats.telemetry_readings_last_24h.count)} <span class="muted">(estimate)</span></dd>
              <dt>Vehicles</dt><dd>${number(stats.collections.vehicles?.count)}</dd>
              <dt>Service centers</dt><dd>${number(stats.collections.centers?.count)}</dd>
              <dt>Alerts, open and resolved</dt><dd>${number(stats.collections.alerts?.count)}</dd>
            </dl>
          </div>
          <p class="muted chart-note">
            Counted by ${stats.queries} aggregation queries at ${clock(stats.read_at, browserTimeZone())}${stats.cached ? `, reused for up to ${number(stats.cache_seconds)} s` : ""}.
          </p>`
      : null}
  </article>`;
}

/**
 * Requests, latency and errors per function, per minute, across every instance.
 * 404 from the statistics route means this deployment has none: said plainly, no error.
 */
function PerformancePanel() {
  const { client } = useApp();
  const { query } = useLocation();
  const requested = query.get("window");
  const span = requested === "1h" || requested === "24h" ? requested : "5m";
  const state = useData(async () => {
    try {
      return { report: await client.monitoring.performance({ window: span }), available: true };
    } catch (error) {
      if (error instanceof NotFoundError) return { report: null, available: false };
      throw error;
    }
  }, [span]);
  const charts = useMemo(() => (state.data?.report ? performanceCharts(state.data.report) : null), [state.data]);
  const zone = browserTimeZone();
  const report = state.data?.report;
  return html`<section class="performance" aria-labelledby="an-performance" data-testid="performance">
    <div class="section-head">
      <h2 id="an-performance">Traffic, latency and errors per function</h2>
      ${state.data?.available === false
        ? null
        : html`<div class="segmented" role="group" aria-label="Time window">
            ${Object.entries(WINDOWS).map(
              ([value, text]) => html`<button type="button" class="button button-small" aria-pressed=${value === span}
                onClick=${() => setQuery({ window: value === "5m" ? null : value })}>Last ${text}</button>`,
            )}
          </div>`}
    </div>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} title="Monitoring statistics could not be loaded" />
    ${!state.data && !state.error ? html`<${Loading} rows=${3} label="Loading monitoring statistics" />` : null}
    ${state.data?.available === false
      ? html`<div class="card card-wide" data-testid="performance-unavailable">
          <${Empty} title="Monitoring statistics are not available on this deployment.">
            Latency, error rate and requests per minute per function appear here once the monitoring
            function serves <code>/api/monitoring/stats/performance</code>.
          <//>
        </div>`
      : null}
    ${charts && report
      ? html`<p class="muted" data-testid="performance-source">
            ${number(report.totals.requests)} requests, merged from ${report.instances} instance${report.instances === 1 ? "" : "s"};
            read ${clock(report.read_at, zone)}${report.cached ? " (reused)" : ""}. Error rate: the share of requests answered 5xx.
          </p>
          ${charts.functions.length
            ? html`<ul class="stat-tiles" aria-label="Each function over the window">
                ${charts.functions.map(
                  (f) => html`<li class="stat-tile" style=${{ borderTopColor: f.color }} data-function=${f.name}>
                    <strong>${f.name}</strong>
                    <span data-figure="requests">${number(f.requests)} requests, ${number(report.functions[f.name]?.errors["4xx"])} 4xx</span>
                    <span data-figure="latency">p50 ${f.p50 == null ? "–" : `${number(f.p50)} ms`} · p95 ${f.p95 == null ? "–" : `${number(f.p95)} ms`}</span>
                    <span data-figure="error-rate">${percent(report.functions[f.name]?.error_rate ?? 0)} 5xx</span>
                  </li>`,
                )}
              </ul>`
            : html`<${Empty} title="No requests in this window." />`}
          <div class="cards">
            <article class="card card-wide"><${TimeChart} title="Requests per minute" times=${charts.times} series=${charts.requests} counts height=${200} timeZone=${zone} stepSeconds=${report.step_seconds} /></article>
            <article class="card card-wide"><${TimeChart} title="p95 latency (ms)" times=${charts.times} series=${charts.p95} height=${200} timeZone=${zone} stepSeconds=${report.step_seconds} /></article>
            <article class="card card-wide"><${TimeChart} title="p50 latency (ms)" times=${charts.times} series=${charts.p50} height=${200} timeZone=${zone} stepSeconds=${report.step_seconds} /></article>
            <article class="card card-wide"><${TimeChart} title="Error rate (% of requests answered 5xx)" times=${charts.times} series=${charts.errorRate} height=${200} timeZone=${zone} stepSeconds=${report.step_seconds} /></article>
          </div>`
      : null}
  </section>`;
}
