// @ts-check
/**
 * Analytics: bookings per day and alerts by severity over time, from the bookings and
 * alerts lists (bounded reads). Latency, error rate and request rate per function need the
 * monitoring statistics routes; their panels say so until those exist.
 */

import { useApp } from "../context.js";
import { Empty, ErrorBanner, Loading, PageHeader } from "../components.js";
import { TimeChart } from "../charts.js";
import { html, useMemo } from "../html.js";
import { collect, useData } from "../refresh.js";
import { addDays, browserTimeZone, localDate, localDayBounds, utcDatesCovering } from "../time.js";

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
      <article class="card card-wide" aria-labelledby="an-performance">
        <h2 id="an-performance">Latency, errors and traffic per function</h2>
        <${Empty} title="Not measured yet.">
          p50/p95 latency, error rate and requests per minute per function will appear here once the
          monitoring service publishes its statistics.
        <//>
      </article>
    </div>
  </section>`;
}
