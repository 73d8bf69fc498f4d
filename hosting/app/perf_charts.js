// @ts-check
/**
 * The Analytics page's performance charts from `GET /api/monitoring/stats/performance`
 * (docs/sdk.md, `monitoring.performance`): one line per function for requests per minute,
 * p50 and p95 latency and the error rate (5xx ÷ requests, as the monitoring function
 * defines it), over the report's per-minute series. Pure (no DOM), tested by node --test.
 */

// Distinguishable, at least 4.5:1 against white, and the same function keeps its colour.
const PALETTE = ["#0b5cad", "#8c1d18", "#1f6f43", "#6b3fa0", "#8a4b00", "#00607a"];

/**
 * @typedef {{label: string, color: string, values: (number | null)[], unit?: string}} ChartSeries
 */

/**
 * @typedef {object} PerformanceCharts
 * @property {number[]} times epoch ms of each minute
 * @property {ChartSeries[]} requests per function, requests per minute
 * @property {ChartSeries[]} p50 per function, milliseconds (null: no requests that minute)
 * @property {ChartSeries[]} p95
 * @property {ChartSeries[]} errorRate per function, percent of requests answered 5xx
 * @property {{name: string, color: string, requests: number, errorRate: number, p50: number | null, p95: number | null}[]} functions window totals
 */

/**
 * @param {import("/sdk/api.js").PerformanceReport} report
 * @returns {PerformanceCharts}
 */
export function performanceCharts(report) {
  const times = (report.series?.t ?? []).map((seconds) => seconds * 1000);
  const names = Object.keys(report.functions ?? {}).sort();
  /** @type {PerformanceCharts} */
  const charts = { times, requests: [], p50: [], p95: [], errorRate: [], functions: [] };
  names.forEach((name, index) => {
    const figures = report.functions[name];
    const series = figures.series;
    const color = PALETTE[index % PALETTE.length];
    const aligned = (/** @type {(number | null)[] | undefined} */ column) => times.map((_, i) => column?.[i] ?? null);
    charts.requests.push({ label: name, color, values: times.map((_, i) => series?.requests?.[i] ?? 0) });
    charts.p50.push({ label: name, color, unit: "ms", values: aligned(series?.p50_ms) });
    charts.p95.push({ label: name, color, unit: "ms", values: aligned(series?.p95_ms) });
    charts.errorRate.push({
      label: name,
      color,
      unit: "%",
      values: times.map((_, i) => {
        const requests = series?.requests?.[i] ?? 0;
        return requests ? round((100 * (series?.errors_5xx?.[i] ?? 0)) / requests, 2) : null;
      }),
    });
    charts.functions.push({
      name,
      color,
      requests: figures.requests,
      errorRate: round(100 * (figures.error_rate ?? 0), 2),
      p50: figures.latency_ms?.p50 ?? null,
      p95: figures.latency_ms?.p95 ?? null,
    });
  });
  return charts;
}

/**
 * @param {number} value
 * @param {number} digits
 */
function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
