// @ts-check
/**
 * What the SDK needs from its surroundings, injectable so tests control time and chance:
 * a clock (now and timers), randomness (jitter, keys), a tiny event emitter, and a
 * network-status source. Nothing here touches the DOM.
 */

/**
 * @typedef {object} Clock
 * @property {() => number} now milliseconds since the epoch
 * @property {(callback: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: unknown) => void} clearTimeout
 */

/** @type {Clock} */
export const systemClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(/** @type {any} */ (handle)),
};

/**
 * Resolves after `ms` on the given clock.
 * @param {Clock} clock
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(clock, ms) {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, Math.max(0, ms));
  });
}

/**
 * @typedef {object} NetworkStatus
 * @property {() => boolean} isOnline false only when the platform knows it is offline
 * @property {(listener: (online: boolean) => void) => () => void} subscribe returns an unsubscribe function
 */

/** A network that is always "online": requests are tried and fail as they will (Node). */
/** @type {NetworkStatus} */
export const alwaysOnline = {
  isOnline: () => true,
  subscribe: () => () => {},
};

/**
 * A network status a program sets itself (tests, or React Native fed from NetInfo:
 * `NetInfo.addEventListener(s => network.set(!!s.isConnected))`).
 * @param {boolean} [initial]
 * @returns {NetworkStatus & {set(online: boolean): void}}
 */
export function manualNetwork(initial = true) {
  let online = initial;
  /** @type {Set<(online: boolean) => void>} */
  const listeners = new Set();
  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(value) {
      if (value === online) return;
      online = value;
      for (const listener of [...listeners]) listener(online);
    },
  };
}

/**
 * A minimal typed event emitter.
 * @template {Record<string, any>} Events
 */
export class Emitter {
  constructor() {
    /** @type {Map<keyof Events, Set<(payload: any) => void>>} */
    this._listeners = new Map();
  }

  /**
   * @template {keyof Events} K
   * @param {K} event
   * @param {(payload: Events[K]) => void} listener
   * @returns {() => void} unsubscribe
   */
  on(event, listener) {
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @template {keyof Events} K
   * @param {K} event
   * @param {Events[K]} payload
   */
  emit(event, payload) {
    for (const listener of [...(this._listeners.get(event) ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        // A broken listener must not break the SDK's own bookkeeping.
        console.error(`PMI SDK: a '${String(event)}' listener threw`, error);
      }
    }
  }
}

/**
 * A random UUID (v4) for Idempotency-Key headers and queue entries.
 * @param {() => number} [random] used only where Web Crypto is missing
 */
export function randomId(random = Math.random) {
  const cryptoApi = globalThis.crypto;
  if (cryptoApi && typeof cryptoApi.randomUUID === "function") return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoApi && typeof cryptoApi.getRandomValues === "function") cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
