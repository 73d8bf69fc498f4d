// @ts-check
/**
 * One vehicle: its health score and findings with their evidence and recommended action,
 * telemetry over time (battery voltage, coolant temperature, odometer), maintenance due
 * and service history.
 */

import { useApp } from "../context.js";
import { Empty, ErrorBanner, Loading, PageHeader, ScoreBadge, SeverityBadge } from "../components.js";
import { TimeChart } from "../charts.js";
import { html, useMemo } from "../html.js";
import { ago, dateTime, day, label, money, number, vehicleName } from "../format.js";
import { useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";

const RANGES = [
  { key: "24h", label: "24 hours", days: 1 },
  { key: "7d", label: "7 days", days: 7 },
  { key: "30d", label: "30 days", days: 30 },
];
// A chart of more points than this shows nothing more on a dashboard-sized canvas.
const MAX_READINGS = 3000;
const URGENCY_ORDER = ["overdue", "due_soon", "upcoming", "ok"];

/** @param {{vehicleId: string}} props */
export function VehiclePage({ vehicleId }) {
  const { client } = useApp();
  const { query } = useLocation();
  const range = RANGES.find((r) => r.key === query.get("range")) ?? RANGES[1];

  const vehicle = useData(() => client.vehicles.get(vehicleId), [vehicleId]);
  const health = useData(() => client.vehicles.healthReport(vehicleId), [vehicleId]);
  const records = useData(() => client.vehicles.serviceRecords(vehicleId, { limit: 50 }), [vehicleId]);
  const telemetry = useData(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - range.days * 86_400_000);
    /** @type {import("/sdk/api.js").TelemetryReading[]} */
    const items = [];
    let cursor = null;
    do {
      const page = await client.vehicles.telemetry(vehicleId, { from: from.toISOString(), to: to.toISOString(), limit: 500, cursor: cursor ?? undefined });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < MAX_READINGS);
    return { items, truncated: !!cursor };
  }, [vehicleId, range.key]);

  if (vehicle.error && !vehicle.data) {
    return html`<section><${PageHeader} title="Vehicle" /><${ErrorBanner} error=${vehicle.error} onRetry=${vehicle.reload} /><p><a href="/vehicles">Back to vehicles</a></p></section>`;
  }
  const v = vehicle.data;
  return html`<section>
    <${PageHeader} title=${v ? vehicleName(v) : "Vehicle"}>
      <p class="muted"><a href="/vehicles">Vehicles</a> › ${v ? `${v.year} · ${v.fuel_type ? label(v.fuel_type) : "fuel not set"}${v.vin ? ` · VIN ${v.vin}` : ""}` : "…"}</p>
    <//>
    ${!v ? html`<${Loading} rows=${2} />` : html`<dl class="facts facts-inline">
      <dt>Health</dt><dd><${ScoreBadge} score=${health.data?.score ?? v.health_score} /></dd>
      <dt>Mileage</dt><dd>${number(Math.max(v.mileage_km ?? 0, v.odometer_km ?? 0))} km</dd>
      <dt>Last reading</dt><dd>${ago(v.last_reading_at)}</dd>
      ${v.plate ? html`<dt>Plate</dt><dd>${v.plate}</dd>` : null}
    </dl>`}

    <h2>Findings</h2>
    <${ErrorBanner} error=${health.error} onRetry=${health.reload} title="Health report unavailable" />
    ${!health.data && !health.error ? html`<${Loading} rows=${2} label="Evaluating health" />` : null}
    ${health.data
      ? health.data.findings.length
        ? html`<ul class="findings">${health.data.findings.map((f) => html`<li key=${f.rule_id}><${FindingCard} finding=${f} /></li>`)}</ul>`
        : html`<${Empty} title="No findings.">${health.data.readings_considered} readings considered; nothing needs attention.<//>`
      : null}

    <div class="section-head">
      <h2 id="telemetry-heading">Telemetry</h2>
      <div class="segmented" role="group" aria-labelledby="telemetry-heading">
        ${RANGES.map((r) => html`<button type="button" class="button button-small" aria-pressed=${r.key === range.key} onClick=${() => setQuery({ range: r.key })}>${r.label}</button>`)}
      </div>
    </div>
    <${ErrorBanner} error=${telemetry.error} onRetry=${telemetry.reload} title="Telemetry unavailable" />
    ${!telemetry.data && !telemetry.error ? html`<${Loading} rows=${3} label="Loading telemetry" />` : null}
    ${telemetry.data ? html`<${TelemetryCharts} readings=${telemetry.data.items} truncated=${telemetry.data.truncated} findings=${health.data?.findings ?? []} />` : null}

    <div class="split">
      <div>
        <h2>Maintenance</h2>
        ${health.data ? html`<${Maintenance} forecasts=${health.data.maintenance} />` : health.error ? null : html`<${Loading} rows=${2} />`}
      </div>
      <div>
        <h2>Service history</h2>
        <${ErrorBanner} error=${records.error} onRetry=${records.reload} />
        ${!records.data && !records.error ? html`<${Loading} rows=${2} />` : null}
        ${records.data ? html`<${ServiceHistory} records=${records.data.items} />` : null}
      </div>
    </div>
  </section>`;
}

/** @param {{finding: import("/sdk/api.js").Finding}} props */
function FindingCard({ finding }) {
  return html`<article class=${`finding finding-${finding.severity}`} data-testid="finding">
    <header class="finding-head">
      <${SeverityBadge} severity=${finding.severity} />
      <h3>${finding.title}</h3>
    </header>
    <p class="finding-action"><strong>Recommended:</strong> ${finding.recommended_action}</p>
    <details open>
      <summary>Evidence</summary>
      <${Evidence} value=${finding.evidence} />
    </details>
  </article>`;
}

/**
 * Renders any evidence object: scalars as a definition list, lists of records as tables.
 * @param {{value: unknown, unit?: string}} props unit: inherited from the parent key ("thresholds_v")
 * @returns {any}
 */
function Evidence({ value, unit = "" }) {
  if (Array.isArray(value)) {
    if (value.length && value.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
      const columns = [...new Set(value.flatMap((item) => Object.keys(item)))];
      return html`<div class="table-wrap"><table class="table table-compact">
        <thead><tr>${columns.map((c) => html`<th scope="col">${evidenceLabel(c)}</th>`)}</tr></thead>
        <tbody>${value.map((item) => html`<tr>${columns.map((c) => html`<td>${scalar(c, item[c], unit)}</td>`)}</tr>`)}</tbody>
      </table></div>`;
    }
    return html`${value.map((item) => scalar("", item, unit)).join(", ") || "none"}`;
  }
  if (value && typeof value === "object") {
    return html`<dl class="facts">${Object.entries(value).map(
      ([key, inner]) => html`<dt>${evidenceLabel(key)}</dt><dd>${inner && typeof inner === "object" ? html`<${Evidence} value=${inner} unit=${unitOf(key)?.[1] ?? unit} />` : scalar(key, inner, unit)}</dd>`,
    )}</dl>`;
  }
  return html`${scalar("", value, unit)}`;
}

// Evidence keys carry their unit as a suffix ("median_resting_voltage_v"): shown as units.
const UNIT_SUFFIXES = /** @type {[string, string][]} */ ([["_v", " V"], ["_c", " °C"], ["_km", " km"], ["_ms", " ms"], ["_minutes", " min"], ["_days", " days"]]);

/** @param {string} key */
function unitOf(key) {
  return UNIT_SUFFIXES.find(([suffix]) => key.endsWith(suffix)) ?? null;
}

/** @param {string} key */
function evidenceLabel(key) {
  const unit = unitOf(key);
  return label(unit ? key.slice(0, -unit[0].length) : key);
}

/** @param {string} key @param {unknown} value @param {string} [unit] when the key names none */
function scalar(key, value, unit = "") {
  if (value == null) return "–";
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value)) return dateTime(value);
  if (typeof value === "number") return `${value.toLocaleString("en-GB", { maximumFractionDigits: 2 })}${unitOf(key)?.[1] ?? unit}`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/**
 * @param {{readings: import("/sdk/api.js").TelemetryReading[], truncated: boolean, findings: import("/sdk/api.js").Finding[]}} props
 */
function TelemetryCharts({ readings, truncated, findings }) {
  const data = useMemo(() => {
    const times = readings.map((r) => Date.parse(r.timestamp));
    const pick = (/** @type {keyof import("/sdk/api.js").TelemetryReading} */ key) =>
      readings.map((r) => (typeof r[key] === "number" ? /** @type {number} */ (r[key]) : null));
    return { times, battery: pick("battery_voltage"), coolant: pick("coolant_temp_c"), odometer: pick("odometer_km") };
  }, [readings]);
  // A battery finding brings its thresholds onto the voltage chart.
  const thresholds = useMemo(() => {
    const battery = findings.find((f) => f.rule_id.startsWith("battery."));
    const limits = /** @type {Record<string, number> | undefined} */ (battery?.evidence?.thresholds_v);
    return limits ? Object.entries(limits).map(([name, value]) => ({ value, label: `${label(name)} (${value} V)` })) : [];
  }, [findings]);
  const battery = useMemo(() => [{ label: "Battery voltage", unit: "V", color: "#0b5cad", values: data.battery }], [data]);
  const coolant = useMemo(() => [{ label: "Coolant temperature", unit: "°C", color: "#b3261e", values: data.coolant }], [data]);
  const odometer = useMemo(() => [{ label: "Odometer", unit: "km", color: "#1e6b34", values: data.odometer }], [data]);
  if (!readings.length) return html`<${Empty} title="No readings in this period.">Choose a longer period, or check that the vehicle sends telemetry.<//>`;
  return html`<div class="charts">
    ${truncated ? html`<p class="muted">Showing the first ${readings.length} readings of this period.</p>` : null}
    <${TimeChart} title="Battery voltage" times=${data.times} series=${battery} thresholds=${thresholds} />
    <${TimeChart} title="Coolant temperature" times=${data.times} series=${coolant} />
    <${TimeChart} title="Odometer" times=${data.times} series=${odometer} />
  </div>`;
}

/** @param {{forecasts: import("/sdk/api.js").MaintenanceForecast[]}} props */
function Maintenance({ forecasts }) {
  if (!forecasts.length) return html`<${Empty} title="No maintenance schedule." />`;
  const sorted = [...forecasts].sort((a, b) => URGENCY_ORDER.indexOf(a.urgency) - URGENCY_ORDER.indexOf(b.urgency) || (a.days_left ?? 1e9) - (b.days_left ?? 1e9));
  return html`<div class="table-wrap"><table class="table">
    <thead><tr><th scope="col">Service</th><th scope="col">Due</th><th scope="col">Status</th></tr></thead>
    <tbody>${sorted.map(
      (f) => html`<tr key=${f.code}>
        <th scope="row">${f.name}</th>
        <td>${day(f.due_date)}${f.due_km != null ? html`<div class="muted">or at ${number(f.due_km)} km</div>` : null}</td>
        <td><span class=${`badge urgency-${f.urgency}`}>${label(f.urgency)}</span></td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

/** @param {{records: import("/sdk/api.js").ServiceRecord[]}} props */
function ServiceHistory({ records }) {
  if (!records.length) return html`<${Empty} title="No service recorded yet." />`;
  return html`<ul class="history">${records.map(
    (r) => html`<li key=${r.id}>
      <p><strong>${day(r.performed_at)}</strong> · ${number(r.mileage_km)} km · ${r.service_codes.map(label).join(", ")}</p>
      ${r.work_done ? html`<p>${r.work_done}</p>` : null}
      ${r.cost != null ? html`<p class="muted">Cost ${money(r.cost)}</p>` : null}
    </li>`,
  )}</ul>`;
}
