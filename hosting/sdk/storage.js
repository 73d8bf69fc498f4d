// @ts-check
/**
 * Token and queue storage: one small asynchronous key-value interface, so the SDK runs the
 * same in a browser (localStorage), in React Native (AsyncStorage) and in Node (memory).
 *
 * The interface is AsyncStorage's own shape, so React Native's `AsyncStorage` can be
 * passed as it is:
 *
 *     getItem(key: string): Promise<string | null>
 *     setItem(key: string, value: string): Promise<void>
 *     removeItem(key: string): Promise<void>
 *
 * Values are strings (the SDK stores JSON). A synchronous implementation may return plain
 * values: the SDK awaits whatever comes back.
 */

/**
 * @typedef {object} StorageAdapter
 * @property {(key: string) => Promise<string | null> | string | null} getItem
 * @property {(key: string, value: string) => Promise<void> | void} setItem
 * @property {(key: string) => Promise<void> | void} removeItem
 */

/**
 * In-memory storage (Node, tests, or a browser session that must not persist tokens).
 * @param {Record<string, string>} [initial]
 * @returns {StorageAdapter & {dump(): Record<string, string>}}
 */
export function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    async getItem(key) {
      return items.has(key) ? /** @type {string} */ (items.get(key)) : null;
    },
    async setItem(key, value) {
      items.set(key, String(value));
    },
    async removeItem(key) {
      items.delete(key);
    },
    dump() {
      return Object.fromEntries(items);
    },
  };
}

/**
 * The Web Storage API (window.localStorage or sessionStorage) behind the async interface.
 * A browser that refuses storage (private mode, quota) degrades to memory for that key
 * rather than failing every request.
 * @param {Storage} webStorage
 * @returns {StorageAdapter}
 */
export function webStorageAdapter(webStorage) {
  const fallback = memoryStorage();
  return {
    async getItem(key) {
      try {
        return webStorage.getItem(key);
      } catch {
        return fallback.getItem(key);
      }
    },
    async setItem(key, value) {
      try {
        webStorage.setItem(key, value);
      } catch {
        await fallback.setItem(key, value);
      }
    },
    async removeItem(key) {
      try {
        webStorage.removeItem(key);
      } catch {
        /* nothing stored there */
      }
      await fallback.removeItem(key);
    },
  };
}

/**
 * React Native's AsyncStorage (or anything of that shape), checked once so a wrong object
 * fails at start-up with a clear message instead of at the first sign-in.
 * @param {StorageAdapter} asyncStorage e.g. `import AsyncStorage from "@react-native-async-storage/async-storage"`
 * @returns {StorageAdapter}
 */
export function asyncStorageAdapter(asyncStorage) {
  assertStorage(asyncStorage);
  return {
    getItem: (key) => asyncStorage.getItem(key),
    setItem: (key, value) => asyncStorage.setItem(key, value),
    removeItem: (key) => asyncStorage.removeItem(key),
  };
}

/**
 * Throws a TypeError naming the missing method when `storage` is not a StorageAdapter.
 * @param {unknown} storage
 * @returns {asserts storage is StorageAdapter}
 */
export function assertStorage(storage) {
  for (const method of ["getItem", "setItem", "removeItem"]) {
    if (!storage || typeof (/** @type {Record<string, unknown>} */ (storage))[method] !== "function") {
      throw new TypeError(`storage must have getItem, setItem and removeItem; '${method}' is missing`);
    }
  }
}

/**
 * Reads a JSON value; a damaged entry counts as absent (and is logged, not thrown).
 * @template T
 * @param {StorageAdapter} storage
 * @param {string} key
 * @returns {Promise<T | null>}
 */
export async function readJson(storage, key) {
  const raw = await storage.getItem(key);
  if (raw == null) return null;
  try {
    return /** @type {T} */ (JSON.parse(raw));
  } catch {
    return null;
  }
}

/**
 * @param {StorageAdapter} storage
 * @param {string} key
 * @param {unknown} value
 */
export async function writeJson(storage, key, value) {
  await storage.setItem(key, JSON.stringify(value));
}
