// @ts-check
/**
 * What can be done to a booking, by whom, and the dialogs that collect what an action needs
 * (the service record on completion, a reason on cancellation, a new slot, a mechanic).
 * Mirrors functions/bookings/lifecycle.py for showing buttons — who may act, and when
 * (Start and No-show only inside their windows: action_windows.js); the API decides.
 */

import { useApp } from "./context.js";
import { ConfirmDialog, Dialog, ErrorBanner, Field } from "./components.js";
import { html, useEffect, useState } from "./html.js";
import { clock, dateTime } from "./format.js";
import { actionWindow, nextWindowChange } from "./action_windows.js";
import { refreshAll } from "./refresh.js";
import { teamOf } from "./scope.js";
import { localDate } from "./time.js";

// setTimeout's longest wait; a window further away is looked at again then.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The current time, updated when one of the booking's action windows opens or closes, so
 * Start and No-show enable themselves without a reload.
 * @param {{start: string, end: string}} booking
 */
function useWindowClock(booking) {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const next = nextWindowChange(booking, now);
    if (next == null) return;
    const timer = setTimeout(() => setNow(Date.now()), Math.min(MAX_TIMER_MS, next - now + 50));
    return () => clearTimeout(timer);
  }, [booking.start, booking.end, now]);
  return now;
}

const ACTIVE = new Set(["requested", "confirmed", "in_progress"]);

/**
 * The actions the user may take on the booking now.
 * @param {import("/sdk/session.js").User} user
 * @param {import("/sdk/api.js").Booking} booking
 * @returns {string[]}
 */
export function actionsFor(user, booking) {
  const role = user.role;
  const staff = role === "admin" || (role === "service_center" && user.service_center_id === booking.center_id);
  const assignedMechanic = role === "mechanic" && booking.mechanic_id === user.id;
  const owner = role === "customer" && booking.customer_id === user.id;
  /** @type {string[]} */
  const actions = [];
  const s = booking.status;
  if (s === "requested" && staff) actions.push("confirm");
  if (s === "confirmed" && (staff || assignedMechanic)) actions.push("start");
  if (s === "in_progress" && (staff || assignedMechanic)) actions.push("complete");
  if (s === "confirmed" && staff) actions.push("no_show");
  if ((s === "requested" || s === "confirmed") && (staff || owner)) actions.push("reschedule");
  if (ACTIVE.has(s) && staff) actions.push("assign");
  if ((s === "requested" || s === "confirmed") && (staff || owner)) actions.push("cancel");
  return actions;
}

const LABELS = /** @type {Record<string, string>} */ ({
  confirm: "Confirm",
  start: "Start work",
  complete: "Complete…",
  no_show: "No-show…",
  reschedule: "Reschedule…",
  assign: "Assign mechanic…",
  cancel: "Cancel booking…",
});

/**
 * Reports an action's outcome: done, or waiting in the offline queue.
 * @param {(message: string, kind?: "info" | "success" | "error") => void} toast
 * @param {any} result
 * @param {string} done
 */
function report(toast, result, done) {
  if (result && result.queued) toast(`Offline: "${result.entry.label}" will be sent when the connection returns.`, "info");
  else toast(done, "success");
  refreshAll();
}

/**
 * Buttons for the booking's actions, and their dialogs.
 * @param {{booking: import("/sdk/api.js").Booking, compact?: boolean}} props
 */
export function BookingActions({ booking, compact = false }) {
  const { client, user, toast } = useApp();
  const [open, setOpen] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const now = useWindowClock(booking);
  // A start whose slot is over is not offered at all (mark a no-show, cancel or reschedule).
  const actions = actionsFor(user, booking).filter((action) => actionWindow(action, booking, now).code !== "start_too_late");
  if (!actions.length) return compact ? null : html`<p class="muted">No actions for you on this booking.</p>`;
  const opensAt = (/** @type {string} */ action) => {
    const window = actionWindow(action, booking, now);
    return window.allowed || window.at == null ? null : window.at;
  };
  const hintId = (/** @type {string} */ action) => `when-${action}-${booking.id}`;

  /** @param {() => Promise<any>} call @param {string} done */
  const run = async (call, done) => {
    setBusy(true);
    setError(null);
    try {
      const result = await call();
      setOpen(null);
      report(toast, result, done);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    setOpen(null);
    setError(null);
  };
  const immediate = (/** @type {string} */ action) => {
    if (action === "confirm") void run(() => client.bookings.confirm(booking.id), "Booking confirmed.");
    else if (action === "start") void run(() => client.bookings.start(booking.id), "Work started.");
    else {
      setError(null);
      setOpen(action);
    }
  };

  return html`<div class="actions" role="group" aria-label=${`Actions for the booking of ${dateTime(booking.start, booking.time_zone)}`}>
    ${actions.map((action) => {
      const from = opensAt(action);
      return html`<button type="button" key=${action} data-action=${action} disabled=${busy || from != null}
          aria-describedby=${from != null ? hintId(action) : undefined}
          class=${action === "cancel" || action === "no_show" ? "button button-danger-outline" : action === "confirm" || action === "start" || action === "complete" ? "button button-primary" : "button"}
          onClick=${() => immediate(action)}>${LABELS[action]}</button>
        ${from != null
          ? html`<span class="hint action-hint" id=${hintId(action)} data-opens=${action}>
              ${action === "start" ? "Work can start" : "A no-show can be marked"} from ${dateTime(from, booking.time_zone)}
            </span>`
          : null}`;
    })}
    ${!open && error ? html`<${ErrorBanner} error=${error} title="Not done" />` : null}
    <${CompleteDialog} open=${open === "complete"} booking=${booking} busy=${busy} error=${error} onClose=${close}
      onSubmit=${(/** @type {any} */ record) => run(() => client.bookings.complete(booking.id, record), "Booking completed; the service record is written.")} />
    <${CancelDialog} open=${open === "cancel"} booking=${booking} busy=${busy} error=${error} onClose=${close}
      onSubmit=${(/** @type {string} */ reason) => run(() => client.bookings.cancel(booking.id, reason || null), "Booking cancelled; the bay is free.")} />
    <${ConfirmDialog} open=${open === "no_show"} title="Mark as no-show" confirmLabel="Mark no-show" danger busy=${busy} error=${error} onClose=${close}
      message=${html`<p>The customer did not come to the ${clock(booking.start, booking.time_zone)} appointment? The bay is freed.</p>`}
      onConfirm=${() => run(() => client.bookings.noShow(booking.id), "Marked as no-show.")} />
    <${RescheduleDialog} open=${open === "reschedule"} booking=${booking} busy=${busy} error=${error} onClose=${close}
      onSubmit=${(/** @type {string} */ start) => run(() => client.bookings.reschedule(booking.id, start), "Booking moved.")} />
    <${AssignDialog} open=${open === "assign"} booking=${booking} busy=${busy} error=${error} onClose=${close}
      onSubmit=${(/** @type {string} */ mechanicId) => run(() => client.bookings.assign(booking.id, mechanicId), "Mechanic assigned.")} />
  </div>`;
}

/**
 * @typedef {{open: boolean, booking: import("/sdk/api.js").Booking, busy: boolean, error: unknown, onClose: () => void}} DialogProps
 */

/** @param {DialogProps & {onSubmit: (record: {mileage_km: number, work_done: string, cost: {amount: number, currency: string}}) => void}} props */
function CompleteDialog({ open, booking, busy, error, onClose, onSubmit }) {
  const submit = (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (event.target));
    onSubmit({
      mileage_km: Math.round(Number(form.get("mileage"))),
      work_done: String(form.get("work_done")).trim(),
      cost: { amount: Number(form.get("amount")), currency: String(form.get("currency")) },
    });
  };
  const id = (/** @type {string} */ name) => `complete-${booking.id}-${name}`;
  return html`<${Dialog} title="Complete the booking" open=${open} onClose=${onClose}>
    <form class="form" onSubmit=${submit}>
      <p class="muted">${booking.service_name} · this writes the vehicle's service record.</p>
      <${Field} id=${id("mileage")} label="Mileage (km)"><input id=${id("mileage")} name="mileage" type="number" min="0" max="2000000" step="1" required /><//>
      <${Field} id=${id("work")} label="Work done"><textarea id=${id("work")} name="work_done" rows="3" required maxlength="4000"></textarea><//>
      <div class="field-row">
        <${Field} id=${id("amount")} label="Cost"><input id=${id("amount")} name="amount" type="number" min="0" step="0.01" required /><//>
        <${Field} id=${id("currency")} label="Currency">
          <select id=${id("currency")} name="currency">${["EUR", "GBP", "USD", "CHF", "PLN"].map((c) => html`<option value=${c}>${c}</option>`)}</select>
        <//>
      </div>
      <${ErrorBanner} error=${error} title="Not completed" />
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onClose}>Back</button>
        <button type="submit" class="button button-primary" disabled=${busy}>${busy ? "Saving…" : "Complete"}</button>
      </div>
    </form>
  <//>`;
}

/** @param {DialogProps & {onSubmit: (reason: string) => void}} props */
function CancelDialog({ open, booking, busy, error, onClose, onSubmit }) {
  const id = `cancel-${booking.id}-reason`;
  return html`<${Dialog} title="Cancel the booking" open=${open} onClose=${onClose}>
    <form class="form" onSubmit=${(/** @type {SubmitEvent} */ e) => { e.preventDefault(); onSubmit(String(new FormData(/** @type {HTMLFormElement} */ (e.target)).get("reason") ?? "").trim()); }}>
      <p>${booking.service_name} on ${dateTime(booking.start, booking.time_zone)} will be cancelled and its bay freed.</p>
      <${Field} id=${id} label="Reason (optional, kept in the booking's history)"><textarea id=${id} name="reason" rows="2" maxlength="500"></textarea><//>
      <${ErrorBanner} error=${error} title="Not cancelled" />
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onClose}>Keep the booking</button>
        <button type="submit" class="button button-danger" disabled=${busy}>${busy ? "Cancelling…" : "Cancel booking"}</button>
      </div>
    </form>
  <//>`;
}

/** @param {DialogProps & {onSubmit: (start: string) => void}} props */
function RescheduleDialog({ open, booking, busy, error, onClose, onSubmit }) {
  const { client } = useApp();
  const [date, setDate] = useState(localDate(Date.parse(booking.start), booking.time_zone));
  const [slots, setSlots] = useState(/** @type {import("/sdk/api.js").Slot[] | null} */ (null));
  const [slotError, setSlotError] = useState(/** @type {unknown} */ (null));
  useEffect(() => {
    if (!open) return;
    let current = true;
    setSlots(null);
    setSlotError(null);
    client.centers
      .availability(booking.center_id, { date, service: booking.service_type })
      .then((reply) => current && setSlots(reply.slots.filter((s) => s.remaining > 0 && s.start !== booking.start)))
      .catch((failure) => current && setSlotError(failure));
    return () => {
      current = false;
    };
  }, [open, date]);
  const id = (/** @type {string} */ name) => `reschedule-${booking.id}-${name}`;
  return html`<${Dialog} title="Reschedule the booking" open=${open} onClose=${onClose}>
    <form class="form" onSubmit=${(/** @type {SubmitEvent} */ e) => { e.preventDefault(); onSubmit(String(new FormData(/** @type {HTMLFormElement} */ (e.target)).get("start"))); }}>
      <p class="muted">Now ${dateTime(booking.start, booking.time_zone)} (${booking.time_zone}). Times are the center's.</p>
      <${Field} id=${id("date")} label="New day"><input id=${id("date")} type="date" value=${date} required onChange=${(/** @type {any} */ e) => setDate(e.target.value)} /><//>
      <${ErrorBanner} error=${slotError} title="No availability" />
      <${Field} id=${id("slot")} label="New time">
        <select id=${id("slot")} name="start" required disabled=${!slots || !slots.length}>
          ${!slots ? html`<option value="">Loading free times…</option>` : !slots.length ? html`<option value="">No free time on this day</option>` : slots.map((s) => html`<option value=${s.start}>${clock(s.start, booking.time_zone)} (${s.remaining} bay${s.remaining === 1 ? "" : "s"} free)</option>`)}
        </select>
      <//>
      <${ErrorBanner} error=${error} title="Not moved" />
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onClose}>Back</button>
        <button type="submit" class="button button-primary" disabled=${busy || !slots || !slots.length}>${busy ? "Moving…" : "Move booking"}</button>
      </div>
    </form>
  <//>`;
}

/** @param {DialogProps & {onSubmit: (mechanicId: string) => void}} props */
function AssignDialog({ open, booking, busy, error, onClose, onSubmit }) {
  const { client } = useApp();
  const [team, setTeam] = useState(/** @type {import("/sdk/api.js").TeamMember[] | null} */ (null));
  const [teamError, setTeamError] = useState(/** @type {unknown} */ (null));
  useEffect(() => {
    if (!open) return;
    let current = true;
    setTeamError(null);
    teamOf(client, booking.center_id)
      .then((members) => current && setTeam(members))
      .catch((failure) => current && setTeamError(failure));
    return () => {
      current = false;
    };
  }, [open]);
  const assignable = (team ?? []).filter((m) => m.active);
  const id = `assign-${booking.id}-mechanic`;
  return html`<${Dialog} title="Assign a mechanic" open=${open} onClose=${onClose}>
    <form class="form" onSubmit=${(/** @type {SubmitEvent} */ e) => { e.preventDefault(); onSubmit(String(new FormData(/** @type {HTMLFormElement} */ (e.target)).get("mechanic"))); }}>
      <${ErrorBanner} error=${teamError} title="The team could not be loaded" />
      <${Field} id=${id} label="Mechanic" hint=${team && assignable.length < team.length ? "Deactivated or former mechanics cannot be chosen." : undefined}>
        <select id=${id} name="mechanic" required disabled=${!assignable.length}>
          ${!team
            ? html`<option value="">Loading the team…</option>`
            : !assignable.length
              ? html`<option value="">This center has no active mechanic</option>`
              : team.map((m) => html`<option value=${m.active ? m.id : ""} disabled=${!m.active} selected=${m.id === booking.mechanic_id}>
                  ${mechanicLabel(m)}
                </option>`)}
        </select>
      <//>
      <${ErrorBanner} error=${error} title="Not assigned" />
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onClose}>Back</button>
        <button type="submit" class="button button-primary" disabled=${busy || !assignable.length}>${busy ? "Assigning…" : "Assign"}</button>
      </div>
    </form>
  <//>`;
}

/**
 * How a team member reads: their name; a deactivated one says so; one who left has no name.
 * @param {import("/sdk/api.js").TeamMember} member
 */
export function mechanicLabel(member) {
  if (!member.full_name) return "Former team member";
  return member.active ? member.full_name : `${member.full_name} (deactivated)`;
}
