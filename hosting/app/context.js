// @ts-check
/** What every page reaches for: the SDK client, the signed-in user, and toasts. */

import { createContext, useContext } from "./html.js";

/**
 * @typedef {object} AppContext
 * @property {import("/sdk/api.js").Pmi} client
 * @property {import("/sdk/session.js").User} user
 * @property {(message: string, kind?: "info" | "success" | "error") => void} toast
 */

export const App = createContext(/** @type {AppContext | null} */ (null));

/** @returns {AppContext} */
export function useApp() {
  const value = useContext(App);
  if (!value) throw new Error("useApp outside the signed-in shell");
  return value;
}
