// @ts-check
/** Preact with htm tagged templates: the dashboard's only UI dependency, no build step. */

import { Fragment, h, render } from "/vendor/preact.js";
import htm from "/vendor/htm.js";

export { Fragment, h, render };
export { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, useContext } from "/vendor/preact-hooks.js";
export { createContext } from "/vendor/preact.js";

/** @type {(strings: TemplateStringsArray, ...values: any[]) => any} */
export const html = htm.bind(h);
