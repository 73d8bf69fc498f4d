// @ts-check
/**
 * The signed-in frame: navigation for the user's role, the refresh and offline-queue status,
 * sign-out, and the session-expiry dialog that lets a user sign in again without losing
 * the page they were on (it stays mounted underneath, filters and selection intact).
 */

import { describeError } from "/sdk/index.js";
import { App } from "./context.js";
import { ErrorBanner, Field } from "./components.js";
import { html, useCallback, useEffect, useRef, useState } from "./html.js";
import { ROLE_LABELS, pagesFor } from "./permissions.js";
import { onRefreshStatus, refreshAll, refreshStatus } from "./refresh.js";
import { navigate, onLinkClick, useLocation } from "./router.js";
import { routeFor } from "./routes.js";

/** @param {{client: import("/sdk/api.js").Pmi}} props */
export function Root({ client }) {
  const [user, setUser] = useState(client.user);
  const [expired, setExpired] = useState(/** @type {{code?: string, message?: string} | null} */ (null));
  const [toasts, setToasts] = useState(/** @type {{id: number, message: string, kind: string}[]} */ ([]));
  const nextToast = useRef(1);

  const toast = useCallback((/** @type {string} */ message, kind = "info") => {
    const id = nextToast.current++;
    setToasts((list) => [...list.slice(-3), { id, message, kind }]);
    setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), kind === "error" ? 12_000 : 6_000);
  }, []);

  useEffect(() => {
    const offSession = client.on("session", (change) => {
      if (change.session) setUser(change.session.user);
      else if (change.reason === "expired") setExpired({ code: change.code, message: change.message });
      else setUser(null);
    });
    const offReplayed = client.on("replayed", ({ entry }) => {
      toast(`Sent: ${entry.label}.`, "success");
      refreshAll();
    });
    const offFailed = client.on("failed", ({ entry, error }) => toast(`Not done: ${entry.label}. ${describeError(error)}`, "error"));
    return () => {
      offSession();
      offReplayed();
      offFailed();
    };
  }, [client]);

  const toastRegion = html`<div class="toasts" role="status" aria-live="polite">
    ${toasts.map((t) => html`<div key=${t.id} class=${`toast toast-${t.kind}`}>${t.message}</div>`)}
  </div>`;

  if (!user) {
    return html`<${SignInPage} client=${client} onSignedIn=${() => navigate(window.location.pathname + window.location.search, { replace: true })} />${toastRegion}`;
  }
  return html`<${App.Provider} value=${{ client, user, toast }}>
    <${Shell} client=${client} user=${user} />
    ${expired
      ? html`<${SessionDialog}
          client=${client}
          user=${user}
          reason=${expired}
          onDone=${(/** @type {import("/sdk/session.js").User} */ signedIn) => {
            setExpired(null);
            if (signedIn.id !== user.id) navigate("/", { replace: true });
            refreshAll();
          }}
        />`
      : null}
    ${toastRegion}
  <//>`;
}

/**
 * @param {{client: import("/sdk/api.js").Pmi, user: import("/sdk/session.js").User}} props
 */
function Shell({ client, user }) {
  const location = useLocation();
  const route = routeFor(location.path, user);
  const mainRef = useRef(/** @type {HTMLElement | null} */ (null));
  const firstRender = useRef(true);

  useEffect(() => {
    document.title = `${route.title} · PMI admin`;
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    // A new page: move focus to its heading so keyboard and screen-reader users start there.
    const heading = /** @type {HTMLElement | null} */ (mainRef.current?.querySelector(".page-title"));
    (heading ?? mainRef.current)?.focus();
  }, [location.path]);

  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    setSigningOut(true);
    await client.logout();
  };

  return html`<div class="layout" onClick=${onLinkClick}>
    <header class="topbar">
      <a href="/" class="brand"><span class="brand-mark" aria-hidden="true">P</span> PMI admin</a>
      <${StatusLine} client=${client} />
      <div class="account">
        <span class="account-name">${user.full_name || user.email}</span>
        <span class="badge role-badge">${ROLE_LABELS[user.role] ?? user.role}</span>
        <button type="button" class="button" onClick=${signOut} disabled=${signingOut}>Sign out</button>
      </div>
    </header>
    <nav class="sidenav" aria-label="Main">
      <ul>
        ${pagesFor(user).map(
          (page) => html`<li key=${page.path}>
            <a href=${page.path} aria-current=${route.nav === page.path ? "page" : undefined}>${page.label}</a>
          </li>`,
        )}
      </ul>
    </nav>
    <main id="main" ref=${mainRef} tabindex="-1">
      <${route.component} ...${route.props} key=${route.key} />
    </main>
  </div>`;
}

/**
 * "Updated 12 s ago", paused/offline state, refresh now, and the offline queue.
 * @param {{client: import("/sdk/api.js").Pmi}} props
 */
function StatusLine({ client }) {
  const [, setTick] = useState(0);
  const [queue, setQueue] = useState(client.queue.state);
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 1000);
    const offStatus = onRefreshStatus(() => setTick((n) => n + 1));
    const offQueue = client.on("queue", setQueue);
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    return () => {
      clearInterval(timer);
      offStatus();
      offQueue();
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
    };
  }, [client]);

  const seconds = refreshStatus.lastSuccess == null ? null : Math.max(0, Math.round((Date.now() - refreshStatus.lastSuccess) / 1000));
  const updated = seconds == null ? "Not loaded yet" : seconds < 90 ? `Updated ${seconds} s ago` : `Updated ${Math.round(seconds / 60)} min ago`;
  return html`<div class="status-line">
    <span class="updated" data-testid="updated">${updated}</span>
    ${!online ? html`<span class="badge badge-warn">Offline</span>` : null}
    ${refreshStatus.paused ? html`<span class="muted">auto-refresh paused</span>` : null}
    ${refreshStatus.failed ? html`<span class="badge badge-warn" title=${describeError(refreshStatus.failed)}>Refresh failed</span>` : null}
    <button type="button" class="button button-small" onClick=${refreshAll}>Refresh now</button>
    ${queue.pending
      ? html`<details class="queue" data-testid="queue">
          <summary>${queue.pending} change${queue.pending === 1 ? "" : "s"} waiting to be sent</summary>
          <ol>${queue.entries.map((entry) => html`<li key=${entry.id}>${entry.label}</li>`)}</ol>
          <p class="muted">${online ? "Sending…" : "They will be sent, in this order, when the connection returns."}</p>
        </details>`
      : null}
  </div>`;
}

/**
 * @param {{client: import("/sdk/api.js").Pmi, user: import("/sdk/session.js").User, reason: {code?: string, message?: string}, onDone: (user: import("/sdk/session.js").User) => void}} props
 */
function SessionDialog({ client, user, reason, onDone }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return html`<dialog ref=${ref} class="dialog" aria-labelledby="session-title" onCancel=${(/** @type {Event} */ e) => e.preventDefault()}>
    <div class="dialog-head"><h2 id="session-title">Your session has ended</h2></div>
    <p>${reason.message || "Sign in again to continue."} Your page stays as it is; sign in to carry on.</p>
    <${SignInForm} client=${client} email=${user.email} onSignedIn=${onDone} submitLabel="Sign in and continue" />
    <button type="button" class="button button-link" onClick=${() => client.logout()}>Sign out instead</button>
  </dialog>`;
}

/** @param {{client: import("/sdk/api.js").Pmi, onSignedIn: () => void}} props */
function SignInPage({ client, onSignedIn }) {
  useEffect(() => {
    document.title = "Sign in · PMI admin";
  }, []);
  return html`<main id="main" class="signin">
    <div class="signin-card">
      <p class="brand"><span class="brand-mark" aria-hidden="true">P</span> PMI admin</p>
      <h1>Sign in</h1>
      <p class="muted">ProActive Mobility Intelligence — fleet health, bookings and workshop days.</p>
      <${SignInForm} client=${client} onSignedIn=${onSignedIn} submitLabel="Sign in" />
    </div>
  </main>`;
}

/**
 * @param {{client: import("/sdk/api.js").Pmi, email?: string, submitLabel: string, onSignedIn: (user: import("/sdk/session.js").User) => void}} props
 */
function SignInForm({ client, email = "", submitLabel, onSignedIn }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const submit = async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (event.target));
    setBusy(true);
    setError(null);
    try {
      const reply = await client.login(String(form.get("email")), String(form.get("password")));
      onSignedIn(reply.user);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return html`<form class="form" onSubmit=${submit} novalidate>
    <${Field} id="signin-email" label="Email">
      <input id="signin-email" name="email" type="email" autocomplete="username" required defaultValue=${email} />
    <//>
    <${Field} id="signin-password" label="Password">
      <input id="signin-password" name="password" type="password" autocomplete="current-password" required />
    <//>
    <${ErrorBanner} error=${error} title="Could not sign in" />
    <button type="submit" class="button button-primary" disabled=${busy}>${busy ? "Signing in…" : submitLabel}</button>
  </form>`;
}
