// @ts-check
/**
 * Bookings: the list in the caller's scope with filters and actions; for customers also a
 * new-booking form (which works offline: the booking waits in the SDK's queue) and the
 * suggestions the platform makes from their vehicles' alerts and due services.
 */

import { useApp } from "../context.js";
import { BookingActions } from "../booking_actions.js";
import { Empty, ErrorBanner, Field, LoadMore, Loading, PageHeader, StatusBadge } from "../components.js";
import { html, useEffect, useMemo, useState } from "../html.js";
import { clock, dateTime, label, shortId, vehicleName } from "../format.js";
import { can } from "../permissions.js";
import { collect, refreshAll, useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { allCenters, mechanicNames } from "../scope.js";
import { addDays, browserTimeZone, localDate } from "../time.js";

const STATUSES = ["requested", "confirmed", "in_progress", "completed", "cancelled", "no_show"];
const PAGE_SIZE = 25;

export function BookingsPage() {
  const { client, user } = useApp();
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const centerFilter = query.get("center") ?? "";
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  const [pages, setPages] = useState(1);
  const staff = user.role === "service_center" || user.role === "mechanic";

  const centers = useData(() => allCenters(client), []);
  const vehicles = useData(async () => (await collect(client.vehicles.list, {}, 500)).items, []);
  const list = useData(async () => {
    /** @type {import("/sdk/api.js").Booking[]} */
    const items = [];
    let cursor = null;
    for (let page = 0; page < pages; page += 1) {
      const reply = await client.bookings.list({
        limit: PAGE_SIZE,
        status: /** @type {any} */ (status || undefined),
        center_id: centerFilter || undefined,
        from: from || undefined,
        to: to || undefined,
        cursor: cursor ?? undefined,
      });
      items.push(...reply.items);
      cursor = reply.next_cursor;
      if (!cursor) break;
    }
    const assigned = items.filter((b) => b.mechanic_id).map((b) => b.center_id);
    return { items, more: !!cursor, mechanics: await mechanicNames(client, user, assigned) };
  }, [status, centerFilter, from, to, pages]);

  const vehicleById = useMemo(() => new Map((vehicles.data ?? []).map((v) => [v.id, v])), [vehicles.data]);
  const filtering = !!(status || centerFilter || from || to);
  const change = (/** @type {Record<string, string | null>} */ changes) => {
    setPages(1);
    setQuery(changes);
  };

  return html`<section>
    <${PageHeader} title="Bookings"
      actions=${!staff && user.role !== "customer" ? null : staff ? html`<a class="button" href="/bookings/day">Open the day view</a>` : null}>
      <p class="muted">Times are shown in each booking's service-center zone.</p>
    <//>
    ${user.role === "customer" && can(user, "bookings:create")
      ? html`<div class="split">
          <${NewBooking} vehicles=${vehicles.data ?? []} centers=${centers.data ?? []} />
          <${Suggestions} vehicleById=${vehicleById} />
        </div>`
      : null}
    <h2>All bookings</h2>
    <form class="filters" aria-label="Filter bookings" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${Field} id="bookings-status" label="Status">
        <select id="bookings-status" value=${status} onChange=${(/** @type {any} */ e) => change({ status: e.target.value })}>
          <option value="">Any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${label(s)}</option>`)}
        </select>
      <//>
      ${staff
        ? null
        : html`<${Field} id="bookings-center" label="Center">
            <select id="bookings-center" value=${centerFilter} onChange=${(/** @type {any} */ e) => change({ center: e.target.value })}>
              <option value="">Any</option>
              ${(centers.data ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
            </select>
          <//>`}
      <${Field} id="bookings-from" label="From (UTC date)">
        <input id="bookings-from" type="date" value=${from} onChange=${(/** @type {any} */ e) => change({ from: e.target.value })} />
      <//>
      <${Field} id="bookings-to" label="Before (UTC date)">
        <input id="bookings-to" type="date" value=${to} onChange=${(/** @type {any} */ e) => change({ to: e.target.value })} />
      <//>
      ${filtering ? html`<button type="button" class="button button-link" onClick=${() => change({ status: null, center: null, from: null, to: null })}>Clear filters</button>` : null}
    </form>
    <${ErrorBanner} error=${list.error} onRetry=${list.reload} />
    ${!list.data && !list.error ? html`<${Loading} rows=${5} label="Loading bookings" />` : null}
    ${list.data && !list.data.items.length
      ? html`<${Empty} title=${filtering ? "No booking matches these filters." : "No bookings yet."} />`
      : null}
    ${list.data?.items.length
      ? html`<div class="table-wrap" aria-busy=${list.loading}>
          <table class="table" data-testid="bookings-table">
            <caption class="visually-hidden">Bookings</caption>
            <thead><tr>
              <th scope="col">When</th><th scope="col">Service</th><th scope="col">Vehicle</th><th scope="col">Center</th>
              <th scope="col">Status</th><th scope="col">Mechanic</th><th scope="col">Actions</th>
            </tr></thead>
            <tbody>
              ${list.data.items.map(
                (b) => html`<tr key=${b.id} data-booking=${b.id}>
                  <td>${dateTime(b.start, b.time_zone)}<div class="muted">${b.time_zone}</div></td>
                  <td>${b.service_name}</td>
                  <td>${b.vehicle_id
                    ? html`<a href=${`/vehicles/${b.vehicle_id}`}>${vehicleById.has(b.vehicle_id) ? vehicleName(vehicleById.get(b.vehicle_id)) : shortId(b.vehicle_id)}</a>`
                    : html`<span class="muted">–</span>`}</td>
                  <td>${b.center_name}</td>
                  <td><${StatusBadge} status=${b.status} /></td>
                  <td>${b.mechanic_id ? list.data?.mechanics[b.mechanic_id] ?? shortId(b.mechanic_id) : html`<span class="muted">–</span>`}</td>
                  <td><${BookingActions} booking=${b} compact /></td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <${LoadMore} more=${list.data.more} loading=${list.loading} count=${list.data.items.length} noun="booking" onMore=${() => setPages(pages + 1)} />`
      : null}
  </section>`;
}

/**
 * @param {{vehicles: import("/sdk/api.js").Vehicle[], centers: import("/sdk/api.js").Center[]}} props
 */
function NewBooking({ vehicles, centers }) {
  const { client, toast } = useApp();
  const [vehicleId, setVehicleId] = useState("");
  const [centerId, setCenterId] = useState("");
  const [service, setService] = useState("");
  const [date, setDate] = useState(addDays(localDate(Date.now(), browserTimeZone()), 1));
  const [slots, setSlots] = useState(/** @type {import("/sdk/api.js").Slot[] | null} */ (null));
  const [slotError, setSlotError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const center = centers.find((c) => c.id === centerId) ?? null;

  useEffect(() => {
    if (!vehicleId && vehicles.length) setVehicleId(vehicles[0].id);
    if (!centerId && centers.length) setCenterId(centers[0].id);
  }, [vehicles, centers]);
  useEffect(() => {
    if (center && !center.services.some((s) => s.code === service)) setService(center.services[0]?.code ?? "");
  }, [centerId, centers]);
  useEffect(() => {
    if (!center || !service || !date) return;
    let current = true;
    setSlots(null);
    setSlotError(null);
    client.centers
      .availability(center.id, { date, service })
      .then((reply) => current && setSlots(reply.slots.filter((s) => s.remaining > 0)))
      .catch((failure) => current && setSlotError(failure));
    return () => {
      current = false;
    };
  }, [centerId, service, date]);

  const submit = async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (event.target));
    setBusy(true);
    setError(null);
    try {
      const result = await client.bookings.create({
        vehicle_id: vehicleId,
        center_id: centerId,
        service_type: service,
        start: String(form.get("start")),
        notes: String(form.get("notes") ?? "").trim() || null,
      });
      if (result && "queued" in result) toast(`Offline: "${result.entry.label}" will be sent when the connection returns.`, "info");
      else toast("Booked. The center will confirm it.", "success");
      refreshAll();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  if (!vehicles.length) {
    return html`<article class="card"><h2>Book a service</h2><${Empty} title="Register a vehicle first.">Bookings are made for one of your vehicles.<//></article>`;
  }
  return html`<article class="card" aria-labelledby="new-booking">
    <h2 id="new-booking">Book a service</h2>
    <form class="form" onSubmit=${submit} data-testid="new-booking">
      <${Field} id="nb-vehicle" label="Vehicle">
        <select id="nb-vehicle" value=${vehicleId} onChange=${(/** @type {any} */ e) => setVehicleId(e.target.value)}>
          ${vehicles.map((v) => html`<option value=${v.id}>${vehicleName(v)}</option>`)}
        </select>
      <//>
      <${Field} id="nb-center" label="Service center">
        <select id="nb-center" value=${centerId} onChange=${(/** @type {any} */ e) => setCenterId(e.target.value)}>
          ${centers.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select>
      <//>
      <${Field} id="nb-service" label="Service">
        <select id="nb-service" value=${service} onChange=${(/** @type {any} */ e) => setService(e.target.value)}>
          ${(center?.services ?? []).map((s) => html`<option value=${s.code}>${s.name} (${s.duration_minutes} min)</option>`)}
        </select>
      <//>
      <div class="field-row">
        <${Field} id="nb-date" label="Day">
          <input id="nb-date" type="date" value=${date} required onChange=${(/** @type {any} */ e) => setDate(e.target.value)} />
        <//>
        <${Field} id="nb-slot" label=${`Time (${center?.time_zone ?? "center time"})`}>
          <select id="nb-slot" name="start" required disabled=${!slots || !slots.length}>
            ${!slots ? html`<option value="">Loading free times…</option>` : !slots.length ? html`<option value="">No free time on this day</option>` : slots.map((s) => html`<option value=${s.start}>${clock(s.start, center?.time_zone ?? "UTC")} (${s.remaining} free)</option>`)}
          </select>
        <//>
      </div>
      <${ErrorBanner} error=${slotError} title="No availability" />
      <${Field} id="nb-notes" label="Notes for the workshop (optional)">
        <textarea id="nb-notes" name="notes" rows="2" maxlength="2000"></textarea>
      <//>
      <${ErrorBanner} error=${error} title="Not booked" />
      <button type="submit" class="button button-primary" disabled=${busy || !slots || !slots.length}>${busy ? "Booking…" : "Book"}</button>
    </form>
  </article>`;
}

/** @param {{vehicleById: Map<string, import("/sdk/api.js").Vehicle>}} props */
function Suggestions({ vehicleById }) {
  const { client, toast } = useApp();
  const state = useData(() => client.bookings.suggestions(), []);
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const accept = async (/** @type {import("/sdk/api.js").Suggestion} */ suggestion) => {
    setBusy(suggestion.id);
    setError(null);
    try {
      const result = await client.bookings.acceptSuggestion(suggestion.id);
      if (result && "queued" in result) toast(`Offline: "${result.entry.label}" will be sent when the connection returns.`, "info");
      else toast(`Booked ${suggestion.service_name} at ${suggestion.center.name}.`, "success");
      refreshAll();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(null);
    }
  };
  const items = state.data?.suggestions ?? [];
  return html`<article class="card" aria-labelledby="suggestions">
    <h2 id="suggestions">Suggested for your vehicles</h2>
    <${ErrorBanner} error=${state.error ?? error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${2} />` : null}
    ${state.data && !items.length ? html`<${Empty} title="Nothing to suggest.">No open alert or due service needs a booking now.<//>` : null}
    <ul class="suggestions">
      ${items.map(
        (s) => html`<li key=${s.id}>
          <p><strong>${s.service_name}</strong> for ${vehicleName(vehicleById.get(s.vehicle_id))}</p>
          <p class="muted">${s.reason.kind === "alert" ? `Alert: ${s.reason.title}` : `Service ${label(s.reason.urgency ?? "due")}`} · ${s.center.name}${s.center.distance_km != null ? ` (${s.center.distance_km} km)` : ""}</p>
          <p>${s.start.slice(0, 16).replace("T", " ")} <span class="muted">(center time)</span> <button type="button" class="button button-small" disabled=${busy === s.id} onClick=${() => accept(s)}>${busy === s.id ? "Booking…" : "Accept"}</button></p>
        </li>`,
      )}
    </ul>
  </article>`;
}
