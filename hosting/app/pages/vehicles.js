// @ts-check
/** Vehicles: the fleet in the caller's scope with health score, open alerts and due services. */

import { useApp } from "../context.js";
import { Empty, ErrorBanner, Field, LoadMore, Loading, PageHeader, ScoreBadge, SeverityBadge } from "../components.js";
import { html, useMemo, useState } from "../html.js";
import { ago, label, vehicleName } from "../format.js";
import { collect, useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";

const FUEL_TYPES = ["petrol", "diesel", "hybrid", "plug_in_hybrid", "electric", "lpg", "cng", "hydrogen", "other"];
const PAGE_SIZE = 25;

export function VehiclesPage() {
  const { client, user } = useApp();
  const { query } = useLocation();
  const make = query.get("make") ?? "";
  const fuel = query.get("fuel") ?? "";
  const search = query.get("q") ?? "";
  const [pages, setPages] = useState(1);

  const state = useData(async () => {
    /** @type {import("/sdk/api.js").Vehicle[]} */
    const vehicles = [];
    let cursor = null;
    for (let page = 0; page < pages; page += 1) {
      const reply = await client.vehicles.list({ limit: PAGE_SIZE, make: make || undefined, fuel_type: fuel || undefined, cursor: cursor ?? undefined });
      vehicles.push(...reply.items);
      cursor = reply.next_cursor;
      if (!cursor) break;
    }
    const alerts = await collect(client.vehicles.alerts, { status: "open" }, 1000);
    return { vehicles, more: !!cursor, alerts: alerts.items };
  }, [make, fuel, pages]);

  const alertsByVehicle = useMemo(() => {
    /** @type {Map<string, import("/sdk/api.js").Alert[]>} */
    const map = new Map();
    for (const alert of state.data?.alerts ?? []) {
      // A viewer's alerts name no vehicle (no links between a customer's records).
      if (alert.vehicle_id) map.set(alert.vehicle_id, [...(map.get(alert.vehicle_id) ?? []), alert]);
    }
    return map;
  }, [state.data]);

  const needle = search.trim().toLowerCase();
  const shown = (state.data?.vehicles ?? []).filter(
    (v) => !needle || [v.make, v.model, v.plate, v.nickname, v.vin].some((text) => (text ?? "").toLowerCase().includes(needle)),
  );
  const showVin = user.role !== "viewer";

  return html`<section>
    <${PageHeader} title="Vehicles">
      <p class="muted">${user.role === "customer" ? "Your vehicles." : user.role === "service_center" || user.role === "mechanic" ? "Vehicles booked at your center." : "Every vehicle on the platform."}</p>
    <//>
    <form class="filters" role="search" aria-label="Filter vehicles" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${Field} id="vehicle-search" label="Search (loaded vehicles)">
        <input id="vehicle-search" type="search" value=${search} placeholder="Make, model, plate…" onInput=${(/** @type {any} */ e) => setQuery({ q: e.target.value })} />
      <//>
      <${Field} id="vehicle-make" label="Make">
        <input id="vehicle-make" type="text" value=${make} placeholder="Any" onChange=${(/** @type {any} */ e) => { setPages(1); setQuery({ make: e.target.value.trim() }); }} />
      <//>
      <${Field} id="vehicle-fuel" label="Fuel">
        <select id="vehicle-fuel" value=${fuel} onChange=${(/** @type {any} */ e) => { setPages(1); setQuery({ fuel: e.target.value }); }}>
          <option value="">Any</option>
          ${FUEL_TYPES.map((f) => html`<option value=${f}>${label(f)}</option>`)}
        </select>
      <//>
    </form>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${5} label="Loading vehicles" />` : null}
    ${state.data && !shown.length
      ? html`<${Empty} title=${needle || make || fuel ? "No vehicle matches these filters." : "No vehicles yet."}>
          ${needle || make || fuel ? html`<button type="button" class="button" onClick=${() => setQuery({ q: null, make: null, fuel: null })}>Clear filters</button>` : null}
        <//>`
      : null}
    ${shown.length
      ? html`<div class="table-wrap" aria-busy=${state.loading}>
          <table class="table">
            <caption class="visually-hidden">Vehicles with health score, open alerts and due services</caption>
            <thead><tr>
              <th scope="col">Vehicle</th>${showVin ? html`<th scope="col">VIN</th>` : null}<th scope="col">Health</th>
              <th scope="col">Open alerts</th><th scope="col">Service due</th><th scope="col">Last reading</th>
            </tr></thead>
            <tbody>
              ${shown.map((v) => {
                const alerts = alertsByVehicle.get(v.id) ?? [];
                return html`<tr key=${v.id}>
                  <th scope="row"><a href=${`/vehicles/${v.id}`}>${vehicleName(v)}</a><div class="muted">${v.year}</div></th>
                  ${showVin ? html`<td><code>${v.vin ?? "–"}</code></td>` : null}
                  <td><${ScoreBadge} score=${v.health_score} /></td>
                  <td>${alerts.length ? html`${alerts.length} <${SeverityBadge} severity=${alerts.some((a) => a.severity === "critical") ? "critical" : "high"} />` : html`<span class="muted">none</span>`}</td>
                  <td>${(v.due_services ?? []).length ? v.due_services.map((d) => html`<span class=${`badge urgency-${d.urgency}`}>${d.name}</span> `) : html`<span class="muted">nothing due</span>`}</td>
                  <td>${ago(v.last_reading_at)}</td>
                </tr>`;
              })}
            </tbody>
          </table>
        </div>
        <${LoadMore} more=${state.data?.more ?? false} loading=${state.loading} count=${shown.length} noun="vehicle" onMore=${() => setPages(pages + 1)} />`
      : null}
  </section>`;
}
