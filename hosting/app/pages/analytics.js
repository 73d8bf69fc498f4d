// @ts-check
/**
 * Analytics: bookings per day and alerts by severity over time, from the bookings and
 * alerts lists (bounded reads); requests per minute, p50/p95 latency and error rate per
 * function from the monitoring statistics (`/api/monitoring/stats/performance`, every
 * instance merged), over 5 minutes, an hour or a day. A deployment without the statistics
 * routes (404) gets a clear "not available" panel instead of those charts.
 */

import { NotFoundError } from "/sdk/index.js";
import { useApp } from "../context.js";
import { Empty, ErrorBanner, Loading, PageHeader } from "../components.js";
import { TimeChart } from "../charts.js";
import { html, useMemo } from "../html.js";
import { number } from "../format.js";
import { performanceCharts } from "../perf_charts.js";
import { collect, useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { addDays, browserTimeZone, localDate, localDayBounds, utcDatesCovering } from "../time.js";

const WINDOWS = /** @type {const} */ ({ "5m": "5 minutes", "1h": "hour", "24h": "24 hours" });

const DAYS = 30;
const SEVERITY_COLORS = { critical: "#8c1d18", high: "#b35c00" };

export function AnalyticsPage() {
  const { client } = useApp();
  const zone = browserTimeZone();
  const today = localDate(Date.now(), zone);
  const first = addDays(today, -(DAYS - 1));
  const days = useMemo(() => Array.from({ length: DAYS }, (_, i) => addDays(first, i)), [first]);

  const bookings = useData(async () => {
    const start = localDayBounds(first, zone).start;
    const end = localDayBounds(today, zone).end;
    const { items, complete } = await collect(client.bookings.list, utcDatesCovering(start, end), 2000);
    /** @type {Record<string, number>} */
    const perDay = {};
    for (const booking of items) {
      const date = localDate(Date.parse(booking.start), zone);
      perDay[date] = (perDay[date] ?? 0) + 1;
    }
    return { perDay, complete };
  }, [first]);

  const alerts = useData(async () => {
    const [open, resolved] = await Promise.all([
      collect(client.vehicles.alerts, { status: "open" }, 1000),
      collect(client.vehicles.alerts, { status: "resolved" }, 1000),
    ]);
    /** @type {Record<string, Record<string, number>>} */
    const perDay = { critical: {}, high: {} };
    for (const alert of [...open.items, ...resolved.items]) {
      const date = localDate(Date.parse(alert.opened_at), zone);
      const bucket = perDay[alert.severity] ?? (perDay[alert.severity] = {});
      bucket[date] = (bucket[date] ?? 0) + 1;
    }
    return { perDay, complete: open.complete && resolved.complete };
  }, [first]);

  const times = useMemo(() => days.map((d) => localDayBounds(d, zone).start), [days]);
  const bookingSeries = useMemo(
    () => (bookings.data ? [{ label: "Bookings", color: "#0b5cad", values: days.map((d) => bookings.data?.perDay[d] ?? 0) }] : []),
    [bookings.data, days],
  );
  const alertSeries = useMemo(
    () =>
      alerts.data
        ? Object.entries(SEVERITY_COLORS).map(([severity, color]) => ({
            label: `Opened, ${severity}`,
            color,
            values: days.map((d) => alerts.data?.perDay[severity]?.[d] ?? 0),
          }))
        : [],
    [alerts.data, days],
  );

  return html`<section>
    <${PageHeader} title="Analytics"><p class="muted">The last ${DAYS} days, by day in ${zone}.</p><//>
    <div class="cards">
      <article class="card card-wide" aria-labelledby="an-bookings">
        <h2 id="an-bookings">Bookings per day</h2>
        <${ErrorBanner} error=${bookings.error} onRetry=${bookings.reload} />
        ${!bookings.data && !bookings.error ? html`<${Loading} rows=${3} />` : null}
        ${bookings.data ? html`<${TimeChart} title="Bookings per day" times=${times} series=${bookingSeries} bars height=${200} timeZone=${zone} />` : null}
      </article>
      <article class="card card-wide" aria-labelledby="an-alerts">
        <h2 id="an-alerts">Alerts opened per day, by severity</h2>
        <${ErrorBanner} error=${alerts.error} onRetry=${alerts.reload} />
        ${!alerts.data && !alerts.error ? html`<${Loading} rows=${3} />` : null}
        ${alerts.data ? html`<${TimeChart} title="Alerts opened per day" times=${times} series=${alertSeries} height=${200} timeZone=${zone} />` : null}
      </article>
    </div>
    <${PerformancePanel} />
  </section>`;
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
    ${charts && state.data?.report
      ? html`<p class="muted">Merged from ${state.data.report.instances} instance${state.data.report.instances === 1 ? "" : "s"}, read ${new Date(state.data.report.read_at).toLocaleTimeString()}.</p>
          ${charts.functions.length
            ? html`<ul class="stat-tiles" aria-label="Each function over the window">
                ${charts.functions.map(
                  (f) => html`<li class="stat-tile" style=${{ borderTopColor: f.color }} data-function=${f.name}>
                    <strong>${f.name}</strong>
                    <span>${number(f.requests)} requests</span>
                    <span>p50 ${f.p50 == null ? "–" : `${number(f.p50)} ms`} · p95 ${f.p95 == null ? "–" : `${number(f.p95)} ms`}</span>
                    <span>${number(f.errorRate, 2)} % errors</span>
                  </li>`,
                )}
              </ul>`
            : html`<${Empty} title="No requests in this window." />`}
          <div class="cards">
            <article class="card card-wide"><${TimeChart} title="Requests per minute" times=${charts.times} series=${charts.requests} height=${200} timeZone=${zone} /></article>
            <article class="card card-wide"><${TimeChart} title="p95 latency (ms)" times=${charts.times} series=${charts.p95} height=${200} timeZone=${zone} /></article>
            <article class="card card-wide"><${TimeChart} title="p50 latency (ms)" times=${charts.times} series=${charts.p50} height=${200} timeZone=${zone} /></article>
            <article class="card card-wide"><${TimeChart} title="Error rate (% of requests answered 5xx)" times=${charts.times} series=${charts.errorRate} height=${200} timeZone=${zone} /></article>
          </div>`
      : null}
  </section>`;
}
