// @ts-check
/** Small shared pieces: errors with request ids, loading and empty states, badges, dialogs. */

import { describeError, PmiError } from "/sdk/index.js";
import { html, useEffect, useLayoutEffect, useRef } from "./html.js";
import { label } from "./format.js";

/**
 * The envelope's message and request id, in a live region so screen readers hear it.
 * @param {{error: unknown, onRetry?: () => void, title?: string}} props
 */
export function ErrorBanner({ error, onRetry, title = "Something went wrong" }) {
  if (!error) return null;
  const pmi = error instanceof PmiError ? error : null;
  return html`<div class="banner banner-error" role="alert">
    <p><strong>${title}.</strong> ${pmi ? pmi.message : describeError(error)}</p>
    ${pmi?.requestId ? html`<p class="muted">Request id <code>${pmi.requestId}</code> — quote it when you report this.</p>` : null}
    ${pmi?.details?.length
      ? html`<ul>${pmi.details.map((d) => html`<li>${d.field ? html`<code>${d.field}</code>: ` : null}${d.message}</li>`)}</ul>`
      : null}
    ${onRetry ? html`<button type="button" class="button" onClick=${onRetry}>Try again</button>` : null}
  </div>`;
}

/** @param {{rows?: number, label?: string}} props */
export function Loading({ rows = 3, label: text = "Loading" }) {
  return html`<div class="loading" role="status" aria-live="polite">
    <span class="visually-hidden">${text}…</span>
    ${Array.from({ length: rows }, () => html`<div class="skeleton" aria-hidden="true"></div>`)}
  </div>`;
}

/** @param {{title: string, children?: any}} props */
export function Empty({ title, children }) {
  return html`<div class="empty">
    <p class="empty-title">${title}</p>
    ${children ? html`<div class="empty-body">${children}</div>` : null}
  </div>`;
}

/** @param {{status: string}} props */
export function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`}>${label(status)}</span>`;
}

/** @param {{severity: string}} props */
export function SeverityBadge({ severity }) {
  return html`<span class=${`badge severity-${severity}`}>${label(severity)}</span>`;
}

/** @param {{score: number | null | undefined}} props */
export function ScoreBadge({ score }) {
  if (score == null) return html`<span class="badge score-none" title="No health evaluation yet">No score</span>`;
  const band = score >= 80 ? "good" : score >= 50 ? "fair" : "poor";
  return html`<span class=${`badge score-${band}`} aria-label=${`Health score ${score} of 100`}>${score}</span>`;
}

/**
 * A modal dialog on the native <dialog> element: focus moves in, Escape closes, focus
 * returns to what opened it.
 * @param {{title: string, open: boolean, onClose: () => void, children: any, wide?: boolean}} props
 */
export function Dialog({ title, open, onClose, children, wide = false }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const opener = useRef(/** @type {Element | null} */ (null));
  const shown = useRef(false);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      shown.current = true;
      const first = /** @type {HTMLElement | null} */ (dialog.querySelector("input, select, textarea, button:not(.dialog-close)"));
      first?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
      shown.current = false;
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    }
  }, [open]);
  // Pages often render a dialog only while it is open, so closing it unmounts it: give the
  // focus back then too, or it falls to <body>. A layout effect, because Preact 11 (like
  // React 17+) runs a plain effect's cleanup after paint, once the <dialog> has gone and focus
  // has already dropped to <body>; a layout effect's cleanup runs at once, before the
  // <dialog> leaves the DOM, while it is still modal and everything outside it inert
  // (focus() there would do nothing), so close it first.
  useLayoutEffect(() => () => {
    if (!shown.current) return;
    if (ref.current?.open) ref.current.close();
    if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
  }, []);
  const titleId = `dialog-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return html`<dialog ref=${ref} class=${wide ? "dialog dialog-wide" : "dialog"} aria-labelledby=${titleId}
      onCancel=${(/** @type {Event} */ e) => { e.preventDefault(); onClose(); }}>
    ${open
      ? html`<div class="dialog-head">
            <h2 id=${titleId}>${title}</h2>
            <button type="button" class="dialog-close" aria-label="Close" onClick=${onClose}>×</button>
          </div>
          ${children}`
      : null}
  </dialog>`;
}

/**
 * @param {{open: boolean, title: string, message: any, confirmLabel: string, danger?: boolean, busy?: boolean, error?: unknown, onConfirm: () => void, onClose: () => void}} props
 */
export function ConfirmDialog({ open, title, message, confirmLabel, danger = false, busy = false, error, onConfirm, onClose }) {
  return html`<${Dialog} title=${title} open=${open} onClose=${onClose}>
    <div class="dialog-body">${message}</div>
    <${ErrorBanner} error=${error} title="Not done" />
    <div class="dialog-actions">
      <button type="button" class="button" onClick=${onClose}>Keep as is</button>
      <button type="button" class=${danger ? "button button-danger" : "button button-primary"} disabled=${busy} onClick=${onConfirm}>
        ${busy ? "Working…" : confirmLabel}
      </button>
    </div>
  <//>`;
}

/**
 * A labelled form field; the label wraps nothing so the `for`/`id` pair stays explicit.
 * @param {{id: string, label: string, hint?: string, children: any}} props
 */
export function Field({ id, label: text, hint, children }) {
  return html`<div class="field">
    <label for=${id}>${text}</label>
    ${children}
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
  </div>`;
}

/** @param {{title: string, actions?: any, children?: any}} props */
export function PageHeader({ title, actions, children }) {
  return html`<header class="page-header">
    <div>
      <h1 tabindex="-1" class="page-title">${title}</h1>
      ${children}
    </div>
    ${actions ? html`<div class="page-actions">${actions}</div>` : null}
  </header>`;
}

/** @param {{more: boolean, loading: boolean, onMore: () => void, count: number, noun: string}} props */
export function LoadMore({ more, loading, onMore, count, noun }) {
  return html`<div class="load-more">
    <span class="muted">${count} ${noun}${count === 1 ? "" : "s"} shown</span>
    ${more ? html`<button type="button" class="button" disabled=${loading} onClick=${onMore}>${loading ? "Loading…" : "Load more"}</button>` : null}
  </div>`;
}

/**
 * A horizontal bar per key, in `order` (e.g. bookings by status), longest = the largest count.
 * @param {{counts: Record<string, number>, order: string[], kind: string, label?: string}} props
 */
export function Bars({ counts, order, kind, label: text }) {
  const max = Math.max(1, ...Object.values(counts));
  return html`<ul class="bars" aria-label=${text}>
    ${order.map(
      (key) => html`<li key=${key} data-key=${key}>
        <span class="bar-label">${label(key)}</span>
        <span class="bar-track" aria-hidden="true"><span class=${`bar-fill ${kind}-${key}`} style=${{ width: `${((counts[key] ?? 0) / max) * 100}%` }}></span></span>
        <span class="bar-value">${counts[key] ?? 0}</span>
      </li>`,
    )}
  </ul>`;
}
