// @ts-check
/**
 * Browser adapters for the SDK: localStorage for tokens and the queue, navigator.onLine
 * and the online/offline events for network status, and the Web Locks API so two tabs
 * never refresh the same session at once. The only SDK module that touches `window`.
 */

import { createClient } from "./api.js";
import { webStorageAdapter } from "./storage.js";

/** @returns {import("./runtime.js").NetworkStatus} */
export function browserNetwork() {
  return {
    isOnline: () => navigator.onLine !== false,
    subscribe(listener) {
      const online = () => listener(true);
      const offline = () => listener(false);
      window.addEventListener("online", online);
      window.addEventListener("offline", offline);
      return () => {
        window.removeEventListener("online", online);
        window.removeEventListener("offline", offline);
      };
    },
  };
}

/** @type {import("./session.js").Lock} */
export function webLock(name, work) {
  const locks = /** @type {any} */ (navigator).locks;
  return locks && typeof locks.request === "function" ? locks.request(name, work) : work();
}

/**
 * A client for the page's own origin with the browser adapters.
 * @param {import("./client.js").ClientOptions} [options]
 */
export function createBrowserClient(options = {}) {
  return createClient({
    storage: webStorageAdapter(window.localStorage),
    network: browserNetwork(),
    lock: webLock,
    ...options,
  });
}
