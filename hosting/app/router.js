// @ts-check
/**
 * A small history-API router: paths like /vehicles/abc, with the page's filters and
 * selection kept in the query string (so reloads and auto-refresh keep them). Hosting's
 * single-page fallback serves index.html for every non-file, non-API path.
 */

import { useEffect, useState } from "./html.js";

const listeners = new Set();

function notify() {
  for (const listener of [...listeners]) listener();
}

window.addEventListener("popstate", notify);

/** @returns {{path: string, query: URLSearchParams}} */
export function currentLocation() {
  return { path: window.location.pathname.replace(/\/+$/, "") || "/", query: new URLSearchParams(window.location.search) };
}

/**
 * Goes to `url` (path and optional query); focus moves to the new page's heading.
 * @param {string} url
 * @param {{replace?: boolean}} [options]
 */
export function navigate(url, options = {}) {
  if (url === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  notify();
}

/**
 * Changes some query parameters of the current page without a new history entry.
 * @param {Record<string, string | null | undefined>} changes null/"" removes a parameter
 */
export function setQuery(changes) {
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(key);
    else query.set(key, value);
  }
  const text = query.toString();
  navigate(window.location.pathname + (text ? `?${text}` : ""), { replace: true });
}

/** Re-renders the caller when the location changes. */
export function useLocation() {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const update = () => setLocation(currentLocation());
    listeners.add(update);
    return () => listeners.delete(update);
  }, []);
  return location;
}

/**
 * Click handler for in-app links: plain clicks navigate without a reload; modified clicks
 * (new tab, etc.) keep the browser's behaviour.
 * @param {MouseEvent} event
 */
export function onLinkClick(event) {
  const anchor = /** @type {HTMLElement} */ (event.target).closest?.("a");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = anchor.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//") || anchor.target) return;
  event.preventDefault();
  navigate(href);
}
