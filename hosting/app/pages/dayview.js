// @ts-check
/**
 * A service center's working day, in the center's own time zone: bookings laid out over
 * its bays on a time grid, the occupancy of every slot, and the selected booking's details
 * and actions (confirm, start, complete, cancel, no-show, assign — by name — reschedule),
 * and for the center's staff and admins what the vehicles the center sees need (from
 * their alerts), with the center's next free slots.
 *
 * The bookings are asked for by the center's local day (`date`): the API cuts the day in
 * the center's zone, 23 or 25 hours long on a DST change.
 */

import { NotFoundError } from "/sdk/index.js";
import { useApp } from "../context.js";
import { BookingActions } from "../booking_actions.js";
import { Empty, ErrorBanner, Field, Loading, PageHeader, SeverityBadge, StatusBadge } from "../components.js";
import { html, useMemo } from "../html.js";
import { clock, dateTime, label, money, number, shortId, vehicleName } from "../format.js";
import { CENTER_ROLES, can } from "../permissions.js";
import { useData } from "../refresh.js";
import { setQuery, useLocation } from "../router.js";
import { allCenters, centerById, mechanicNames } from "../scope.js";
import { addDays, clockToMinutes, localDate, minutesIntoLocalDay, minutesToClock, weekdayOf } from "../time.js";

// Bookings that hold (or held) a bay during their time; cancelled and no-shows freed it.
const IN_BAY = new Set(["requested", "confirmed", "in_progress", "completed"]);
const HOLDS_CAPACITY = new Set(["requested", "confirmed", "in_progress"]);

export function DayViewPage() {
  const { client, user } = useApp();
  const { query } = useLocation();
  const staff = CENTER_ROLES.has(user.role);
  const centers = useData(() => (staff ? Promise.resolve([]) : allCenters(client)), [staff]);
  const centerId = staff ? user.service_center_id ?? "" : query.get("center") ?? centers.data?.[0]?.id ?? "";
  const selected = query.get("booking");

  const day = useData(async () => {
    if (!centerId) return null;
    const center = await centerById(client, centerId);
    const date = query.get("date") ?? localDate(Date.now(), center.time_zone);
    /** @type {import("/sdk/api.js").Booking[]} */
    const bookings = [];
    let cursor = null;
    do {
      const page = await client.bookings.list({ center_id: centerId, date, limit: 100, cursor: cursor ?? undefined });
      bookings.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && bookings.length < 500);
    const mechanics = await mechanicNames(client, user, [centerId]);
    return { center, date, bookings, mechanics };
  }, [centerId, query.get("date")]);

  const data = day.data;
  const selectedBooking = data?.bookings.find((b) => b.id === selected) ?? null;
  return html`<section>
    <${PageHeader} title="Day view">
      <p class="muted">${data ? `${data.center.name} · ${data.center.bays} bays · times in ${data.center.time_zone}` : "A center's working day."}</p>
    <//>
    <form class="filters" aria-label="Choose the day" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      ${staff
        ? null
        : html`<${Field} id="day-center" label="Center">
            <select id="day-center" value=${centerId} onChange=${(/** @type {any} */ e) => setQuery({ center: e.target.value, booking: null })}>
              ${(centers.data ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
            </select>
          <//>`}
      ${data
        ? html`<div class="day-nav" role="group" aria-label="Day">
            <button type="button" class="button" onClick=${() => setQuery({ date: addDays(data.date, -1), booking: null })} aria-label="Previous day">‹</button>
            <${Field} id="day-date" label="Day (center time)">
              <input id="day-date" type="date" value=${data.date} onChange=${(/** @type {any} */ e) => e.target.value && setQuery({ date: e.target.value, booking: null })} />
            <//>
            <button type="button" class="button" onClick=${() => setQuery({ date: addDays(data.date, 1), booking: null })} aria-label="Next day">›</button>
            <button type="button" class="button button-link" onClick=${() => setQuery({ date: null, booking: null })}>Today</button>
          </div>`
        : null}
    </form>
    <${ErrorBanner} error=${centers.error ?? day.error} onRetry=${day.reload} />
    ${!centerId && centers.data ? html`<${Empty} title="No service centers yet." />` : null}
    ${!data && !day.error && centerId ? html`<${Loading} rows=${4} label="Loading the day" />` : null}
    ${data
      ? html`<div class="dayview" aria-busy=${day.loading}>
          <div class="dayview-main">
            <${BayGrid} center=${data.center} date=${data.date} bookings=${data.bookings} selected=${selected} />
            <${DayList} bookings=${data.bookings} selected=${selected} />
          </div>
          <aside class="dayview-side" aria-label="Selected booking">
            ${selectedBooking
              ? html`<${BookingPanel} booking=${selectedBooking} mechanics=${data.mechanics} />`
              : html`<${Empty} title="No booking selected.">Choose a booking on the grid or in the list to see it and act on it.<//>`}
          </aside>
        </div>`
      : null}
    ${data && can(user, "bookings:manage") ? html`<${CenterSuggestions} center=${data.center} />` : null}
  </section>`;
}

/**
 * What the vehicles the center may see need (their open alerts), with the center's next
 * free slots: whom to call. Booking stays the customer's act (they accept a suggestion).
 * @param {{center: import("/sdk/api.js").Center}} props
 */
function CenterSuggestions({ center }) {
  const { client } = useApp();
  const state = useData(() => client.centers.suggestions(center.id), [center.id]);
  const items = state.data?.suggestions ?? [];
  return html`<section class="card card-wide center-suggestions" aria-labelledby="center-suggestions" data-testid="center-suggestions">
    <h2 id="center-suggestions">Vehicles that need work</h2>
    <p class="muted">Open alerts on vehicles ${center.name} may see now (a booking here, or one completed in the last 30 days), with the center's next free times.</p>
    <${ErrorBanner} error=${state.error} onRetry=${state.reload} />
    ${!state.data && !state.error ? html`<${Loading} rows=${2} label="Loading suggestions" />` : null}
    ${state.data && !items.length ? html`<${Empty} title="Nothing to suggest.">No vehicle linked to this center has an open high or critical alert that is not booked yet.<//>` : null}
    ${items.length
      ? html`<ul class="suggestions">
          ${items.map(
            (s) => html`<li key=${`${s.vehicle_id}-${s.service_code}`}>
              <p><strong>${s.service_name}</strong> for <a href=${`/vehicles/${s.vehicle_id}`}>${vehicleName(s.vehicle)}</a>
                ${s.reason.severity ? html` <${SeverityBadge} severity=${s.reason.severity} />` : null}</p>
              <p class="muted">Alert: ${s.reason.title ?? label(s.service_code)}${s.book_before ? ` · book before ${s.book_before}` : ""}</p>
              <p>${!s.offered
                ? html`<span class="muted">This center does not offer this service.</span>`
                : s.slots.length
                  ? html`Next free: ${s.slots.map((slot, i) => html`${i ? ", " : ""}<span>${dateTime(slot.start, center.time_zone)}</span>`)}`
                  : html`<span class="muted">No free time in the next two weeks.</span>`}</p>
            </li>`,
          )}
        </ul>`
      : null}
  </section>`;
}

/**
 * @param {{center: import("/sdk/api.js").Center, date: string, bookings: import("/sdk/api.js").Booking[], selected: string | null}} props
 */
function BayGrid({ center, date, bookings, selected }) {
  const layout = useMemo(() => {
    const zone = center.time_zone;
    const hours = /** @type {string[][]} */ (center.opening_hours?.[weekdayOf(date)] ?? []);
    const step = center.slot_step_minutes || 30;
    const placed = bookings
      .filter((b) => IN_BAY.has(b.status))
      .map((b) => ({ booking: b, start: minutesIntoLocalDay(Date.parse(b.start), date, zone), end: minutesIntoLocalDay(Date.parse(b.end), date, zone) }))
      .sort((a, b) => a.start - b.start || a.end - b.end);
    let open = hours.length ? Math.min(...hours.map((h) => clockToMinutes(h[0]))) : 8 * 60;
    let close = hours.length ? Math.max(...hours.map((h) => clockToMinutes(h[1]))) : 18 * 60;
    for (const p of placed) {
      open = Math.min(open, p.start);
      close = Math.max(close, p.end);
    }
    open = Math.floor(open / step) * step;
    close = Math.ceil(close / step) * step;
    // Bays are filled in order of arrival: the API counts bays, it does not pin a booking to one.
    /** @type {number[]} */
    const laneEnds = [];
    const lanes = placed.map((p) => {
      let lane = laneEnds.findIndex((end) => end <= p.start);
      if (lane === -1) lane = laneEnds.push(p.end) - 1;
      else laneEnds[lane] = p.end;
      return { ...p, lane };
    });
    const columns = Math.max(1, (close - open) / step);
    const occupancy = Array.from({ length: columns }, (_, i) => {
      const cellStart = open + i * step;
      return placed.filter((p) => HOLDS_CAPACITY.has(p.booking.status) && p.start < cellStart + step && p.end > cellStart).length;
    });
    return { open, close, step, columns, lanes, laneCount: Math.max(center.bays, laneEnds.length), occupancy, closed: !hours.length };
  }, [center, date, bookings]);

  const column = (/** @type {number} */ minutes) => Math.round((minutes - layout.open) / layout.step) + 2;
  const gridStyle = { gridTemplateColumns: `7rem repeat(${layout.columns}, minmax(4rem, 1fr))` };
  const labelEvery = Math.max(1, Math.round(60 / layout.step));
  return html`<div class="baygrid-wrap" role="region" aria-label="Bay occupancy" tabindex="0">
    ${layout.closed ? html`<p class="banner">The center is closed on this day (${label(weekdayOf(date))}).</p>` : null}
    <div class="baygrid" style=${gridStyle} data-testid="baygrid">
      <div class="baygrid-corner" style=${{ gridRow: "1", gridColumn: "1" }}>Time</div>
      ${Array.from({ length: layout.columns }, (_, i) =>
        i % labelEvery === 0
          ? html`<div class="baygrid-time" style=${{ gridRow: "1", gridColumn: `${i + 2} / span ${Math.min(labelEvery, layout.columns - i)}` }}>${minutesToClock(layout.open + i * layout.step)}</div>`
          : null,
      )}
      <div class="baygrid-label" style=${{ gridRow: "2", gridColumn: "1" }}>Occupancy</div>
      ${layout.occupancy.map((count, i) => {
        const level = count >= center.bays ? "full" : count > 0 ? "some" : "none";
        const when = minutesToClock(layout.open + i * layout.step);
        return html`<div class=${`baygrid-occupancy occupancy-${level}`} style=${{ gridRow: "2", gridColumn: `${i + 2}` }}
          title=${`${when}: ${count} of ${center.bays} bays taken`} aria-label=${`${when}: ${count} of ${center.bays} bays taken`}>${count}</div>`;
      })}
      ${Array.from({ length: layout.laneCount }, (_, lane) => html`<div class="baygrid-label" style=${{ gridRow: `${lane + 3}`, gridColumn: "1" }}>
          ${lane < center.bays ? `Bay ${lane + 1}` : "Over capacity"}
        </div>
        <div class=${lane < center.bays ? "baygrid-lane" : "baygrid-lane baygrid-over"} style=${{ gridRow: `${lane + 3}`, gridColumn: `2 / span ${layout.columns}` }}></div>`)}
      ${layout.lanes.map((p) => {
        const b = p.booking;
        const span = Math.max(1, Math.round((p.end - p.start) / layout.step));
        return html`<button type="button" key=${b.id} data-booking=${b.id}
          class=${`booking-block status-${b.status}${b.id === selected ? " is-selected" : ""}`}
          style=${{ gridRow: `${p.lane + 3}`, gridColumn: `${column(p.start)} / span ${span}` }}
          aria-pressed=${b.id === selected}
          aria-label=${`${clock(b.start, b.time_zone)} to ${clock(b.end, b.time_zone)}, ${b.service_name}, ${label(b.status)}`}
          onClick=${() => setQuery({ booking: b.id })}>
          <span class="block-time">${clock(b.start, b.time_zone)}</span>
          <span class="block-service">${b.service_name}</span>
          <span class="block-status">${label(b.status)}</span>
        </button>`;
      })}
    </div>
  </div>`;
}

/** @param {{bookings: import("/sdk/api.js").Booking[], selected: string | null}} props */
function DayList({ bookings, selected }) {
  if (!bookings.length) return html`<${Empty} title="No bookings on this day." />`;
  const sorted = [...bookings].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  return html`<h2 class="h3">All bookings of the day</h2>
    <ol class="daylist">
      ${sorted.map(
        (b) => html`<li key=${b.id}>
          <button type="button" class=${b.id === selected ? "daylist-item is-selected" : "daylist-item"} aria-pressed=${b.id === selected} onClick=${() => setQuery({ booking: b.id })}>
            <span>${clock(b.start, b.time_zone)}–${clock(b.end, b.time_zone)}</span>
            <span>${b.service_name}</span>
            <${StatusBadge} status=${b.status} />
          </button>
        </li>`,
      )}
    </ol>`;
}

/** @param {{booking: import("/sdk/api.js").Booking, mechanics: Record<string, string>}} props */
function BookingPanel({ booking, mechanics }) {
  const { client } = useApp();
  // The booking names its vehicle by id; whoever sees the booking here may read the vehicle
  // (a center sees the vehicles booked with it). Until it arrives, or if it cannot be read
  // (the center's access has ended), the short id stands in.
  const vehicleId = booking.vehicle_id; // absent for viewers: they see no customer's links
  const vehicle = useData(async () => {
    if (!vehicleId) return null;
    try {
      return await client.vehicles.get(vehicleId);
    } catch (error) {
      if (error instanceof NotFoundError) return null; // not a failed refresh: access ended
      throw error;
    }
  }, [vehicleId]);
  return html`<article class="panel" data-testid="booking-panel" data-status=${booking.status}>
    <header class="panel-head">
      <h2>${booking.service_name}</h2>
      <${StatusBadge} status=${booking.status} />
    </header>
    <dl class="facts">
      <dt>When</dt><dd>${dateTime(booking.start, booking.time_zone)} – ${clock(booking.end, booking.time_zone)}</dd>
      <dt>Vehicle</dt><dd data-testid="panel-vehicle">${vehicleId
        ? html`<a href=${`/vehicles/${vehicleId}`}>${vehicle.data ? vehicleName(vehicle.data) : shortId(vehicleId)}</a>`
        : html`<span class="muted">–</span>`}</dd>
      <dt>Mechanic</dt><dd data-testid="panel-mechanic">${booking.mechanic_id === undefined
        ? html`<span class="muted">–</span>`
        : booking.mechanic_id ? mechanics[booking.mechanic_id] ?? shortId(booking.mechanic_id) : "not assigned"}</dd>
      ${booking.notes ? html`<dt>Notes</dt><dd>${booking.notes}</dd>` : null}
      ${booking.completion
        ? html`<dt>Work done</dt><dd>${booking.completion.work_done ?? html`<span class="muted">–</span>`}</dd>
            <dt>Mileage</dt><dd>${number(booking.completion.mileage_km)} km</dd>
            <dt>Cost</dt><dd>${money(booking.completion.cost)}</dd>`
        : null}
    </dl>
    <${BookingActions} booking=${booking} />
    <h3>History</h3>
    <ol class="history">
      ${booking.history.map((h) => html`<li>${dateTime(h.at, booking.time_zone)}: ${label(h.action)}${h.to_state ? html` → <${StatusBadge} status=${h.to_state} />` : null}${h.actor_role ? html` <span class="muted">by ${label(h.actor_role)}</span>` : null}${h.reason ? html` — “${h.reason}”` : null}</li>`)}
    </ol>
  </article>`;
}
