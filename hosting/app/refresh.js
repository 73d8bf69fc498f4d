// @ts-check
/**
 * Auto-refresh: every 30 s while the tab is visible (paused while hidden, caught up at once
 * when it shows again), plus "refresh now". Pages load through {@link useData}, which keeps
 * the data on screen while a new copy loads — no flicker, no lost scroll, filters or
 * selection, because nothing is unmounted.
 */

import { NetworkError, SessionExpiredError } from "/sdk/index.js";
import { useCallback, useEffect, useRef, useState } from "./html.js";

const DEFAULT_INTERVAL_MS = 30_000;

/**
 * 30 s; a different period can be set for a browser with
 * `localStorage.setItem("pmi.refreshIntervalMs", "5000")` (at least 1 s): for tests and demos.
 */
export const REFRESH_INTERVAL_MS = (() => {
  try {
    const configured = Number(globalThis.localStorage?.getItem("pmi.refreshIntervalMs"));
    return configured >= 1000 ? configured : DEFAULT_INTERVAL_MS;
  } catch {
    return DEFAULT_INTERVAL_MS;
  }
})();

/** @type {Set<() => void>} */
const subscribers = new Set();
/** @type {Set<() => void>} */
const statusListeners = new Set();

export const refreshStatus = {
  /** epoch ms of the last successful load, or null */
  lastSuccess: /** @type {number | null} */ (null),
  lastRun: Date.now(),
  /** a background refresh failed; the screen shows the previous data */
  failed: /** @type {unknown} */ (null),
  paused: typeof document !== "undefined" && document.visibilityState === "hidden",
};

function changed() {
  for (const listener of [...statusListeners]) listener();
}

/** Asks every mounted page to reload its data now. */
export function refreshAll() {
  refreshStatus.lastRun = Date.now();
  for (const subscriber of [...subscribers]) subscriber();
}

/** @param {() => void} listener */
export function onRefreshStatus(listener) {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

/** Starts the 30-second timer (once, from main.js). */
export function startAutoRefresh() {
  setInterval(() => {
    if (document.visibilityState === "hidden" || !navigator.onLine) return;
    if (Date.now() - refreshStatus.lastRun >= REFRESH_INTERVAL_MS) refreshAll();
  }, 1000);
  // Back online: what is on screen may be stale, so catch up at once.
  window.addEventListener("online", () => refreshAll());
  document.addEventListener("visibilitychange", () => {
    refreshStatus.paused = document.visibilityState === "hidden";
    changed();
    if (!refreshStatus.paused && Date.now() - refreshStatus.lastRun >= REFRESH_INTERVAL_MS) refreshAll();
  });
}

/**
 * @template T
 * @typedef {object} DataState
 * @property {T | null} data
 * @property {unknown} error the first load's error (background failures keep the data)
 * @property {boolean} loading a load is under way
 * @property {() => Promise<void>} reload
 */

/**
 * Loads with `loader` when `deps` change and on every refresh.
 * @template T
 * @param {() => Promise<T>} loader
 * @param {unknown[]} deps
 * @returns {DataState<T>}
 */
export function useData(loader, deps) {
  const [state, setState] = useState(/** @type {{data: T | null, error: unknown, loading: boolean}} */ ({ data: null, error: null, loading: true }));
  const loaderRef = useRef(loader);
  loaderRef.current = loader;
  const sequence = useRef(0);
  const mounted = useRef(true);

  const run = useCallback(async (/** @type {boolean} */ background) => {
    const mine = ++sequence.current;
    setState((previous) => ({ ...previous, loading: true, error: background ? previous.error : null }));
    try {
      const data = await loaderRef.current();
      if (!mounted.current || mine !== sequence.current) return;
      setState({ data, error: null, loading: false });
      // The first data on screen (bench/bench_dashboard.py measures time to it).
      if (refreshStatus.lastSuccess === null) performance.mark("pmi:first-data");
      refreshStatus.lastSuccess = Date.now();
      refreshStatus.failed = null;
      changed();
    } catch (error) {
      if (!mounted.current || mine !== sequence.current) return;
      // A signed-out session is the sign-in dialog's business, not this page's.
      const shown = error instanceof SessionExpiredError ? null : error;
      setState((previous) => ({ data: previous.data, loading: false, error: previous.data && background ? previous.error : shown }));
      // Offline is shown by the status line's own badge, not as a failed refresh.
      const offline = error instanceof NetworkError && error.code === "offline";
      if (background && shown && !offline) {
        refreshStatus.failed = shown;
        changed();
      }
    }
  }, []);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  useEffect(() => {
    void run(false);
  }, deps);
  useEffect(() => {
    const subscriber = () => void run(true);
    subscribers.add(subscriber);
    return () => subscribers.delete(subscriber);
  }, []);

  return { ...state, reload: () => run(true) };
}

/**
 * Collects every item of a cursor-paginated list, up to `maxItems` (a bound on the reads
 * one dashboard refresh may cost); `complete` says whether the list ended first.
 * @template T
 * @param {(query: Record<string, any>) => Promise<{items: T[], next_cursor: string | null}>} list
 * @param {Record<string, any>} query
 * @param {number} [maxItems]
 * @returns {Promise<{items: T[], complete: boolean}>}
 */
export async function collect(list, query, maxItems = 1000) {
  /** @type {T[]} */
  const items = [];
  let cursor = null;
  do {
    const page = await list({ ...query, limit: 100, cursor: cursor ?? undefined });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < maxItems);
  return { items, complete: !cursor };
}
