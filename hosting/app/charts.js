// @ts-check
/**
 * Time-series charts with uPlot, loaded on first use (it is not part of the first load).
 * Each chart has a text alternative: a summary in its label and the data as a table
 * behind a disclosure, for people who cannot see the canvas.
 */

import { html, useEffect, useRef, useState } from "./html.js";

/** @type {Promise<any> | null} */
let uplotModule = null;
function loadUplot() {
  uplotModule ??= import("/vendor/uplot.js").then((module) => module.default);
  return uplotModule;
}

// Tick spacings on the time axis (seconds), from a minute to four weeks: a chart of
// per-minute or per-day figures asks for none finer than its step, so its axis never reads
// ":15 :30 :45" between points that are a minute apart.
const TIME_TICKS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200,
  86400, 2 * 86400, 3 * 86400, 4 * 86400, 5 * 86400, 7 * 86400, 14 * 86400, 28 * 86400];

// Time labels as the rest of the dashboard writes them (24-hour clock, "29 Nov"), not uPlot's
// US defaults ("7:50am", "11/29/26"). One row per tick spacing (seconds): the label, then what
// is added below it where the year, the day or the hour rolls over (uPlot's stamp table).
const AXIS_STAMPS = [
  [365 * 86400, "{YYYY}", null, null, null, null, null, null, 1],
  [28 * 86400, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [86400, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [60, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
  [1, ":{ss}", "\n{D} {MMM} {YYYY} {HH}:{mm}", null, "\n{D} {MMM} {HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
];
// The legend's time under the cursor: the day alone for figures per day.
const LEGEND_STAMP = "{D} {MMM} {YYYY} {HH}:{mm}";
const LEGEND_DAY_STAMP = "{D} {MMM} {YYYY}";

// Tick spacings of a count axis: whole numbers only (no "0.25 bookings").
const COUNT_TICKS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000, 1e6, 1e7];

/**
 * @typedef {object} Series
 * @property {string} label
 * @property {(number | null)[]} values aligned with `times`
 * @property {string} color
 * @property {string} [unit]
 */

/**
 * @param {{title: string, times: number[], series: Series[], height?: number, thresholds?: {value: number, label: string}[], bars?: boolean, timeZone?: string, stepSeconds?: number, counts?: boolean}} props
 *   times in epoch ms; `stepSeconds`: the spacing of the points (no finer axis ticks);
 *   `counts`: the values are counts (whole-number ticks)
 */
export function TimeChart({ title, times, series, height = 180, thresholds = [], bars = false, timeZone, stepSeconds, counts = false }) {
  const host = useRef(/** @type {HTMLDivElement | null} */ (null));
  const chart = useRef(/** @type {any} */ (null));
  const [failed, setFailed] = useState(/** @type {unknown} */ (null));

  useEffect(() => {
    let cancelled = false;
    loadUplot()
      .then((uPlot) => {
        if (cancelled || !host.current) return;
        const width = Math.max(280, host.current.clientWidth || 600);
        const data = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
        /** @type {any[]} */
        const extra = thresholds.map((t) => ({
          label: t.label,
          stroke: "#8a4b00",
          dash: [6, 4],
          width: 1,
          points: { show: false },
        }));
        const allData = [...data, ...thresholds.map((t) => times.map(() => t.value))];
        const options = {
          width,
          height,
          tzDate: timeZone ? (/** @type {number} */ ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) : undefined,
          legend: { show: true },
          cursor: { drag: { x: true, y: false } },
          scales: { x: { time: true } },
          axes: [
            stepSeconds
              ? { stroke: "#333", values: AXIS_STAMPS, incrs: TIME_TICKS.filter((tick) => tick >= stepSeconds) }
              : { stroke: "#333", values: AXIS_STAMPS },
            counts ? { stroke: "#333", size: 60, incrs: COUNT_TICKS } : { stroke: "#333", size: 60 },
          ],
          series: [
            { value: stepSeconds && stepSeconds >= 86400 ? LEGEND_DAY_STAMP : LEGEND_STAMP },
            ...series.map((s) => ({
              label: s.unit ? `${s.label} (${s.unit})` : s.label,
              stroke: s.color,
              width: 2,
              fill: bars ? s.color : undefined,
              paths: bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
              points: { show: !bars && times.length < 60 },
              spanGaps: false,
            })),
            ...extra,
          ],
        };
        if (chart.current) chart.current.destroy();
        chart.current = new uPlot(options, allData, host.current);
      })
      .catch((error) => setFailed(error));
    return () => {
      cancelled = true;
    };
  }, [times, series, thresholds, height, bars, timeZone, stepSeconds, counts]);

  useEffect(() => {
    const resize = () => {
      if (chart.current && host.current) chart.current.setSize({ width: Math.max(280, host.current.clientWidth), height });
    };
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  const summary = series
    .map((s) => {
      const values = s.values.filter((v) => v != null).map(Number);
      if (!values.length) return `${s.label}: no data`;
      return `${s.label}: ${values.length} points, from ${Math.min(...values)} to ${Math.max(...values)}${s.unit ? ` ${s.unit}` : ""}`;
    })
    .join("; ");
  return html`<figure class="chart" data-testid=${`chart-${title}`}>
    <figcaption>${title}</figcaption>
    ${failed ? html`<p class="banner banner-error">The chart could not be drawn.</p>` : null}
    <div class="chart-canvas" ref=${host} role="img" aria-label=${`${title}. ${summary}.`}></div>
    <details class="chart-table">
      <summary>${title} as a table</summary>
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Time</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
          <tbody>
            ${times.slice(-200).map((t, i, shown) => {
              const index = times.length - shown.length + i;
              return html`<tr><td>${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC</td>${series.map((s) => html`<td>${s.values[index] ?? "–"}</td>`)}</tr>`;
            })}
          </tbody>
        </table>
      </div>
    </details>
  </figure>`;
}
