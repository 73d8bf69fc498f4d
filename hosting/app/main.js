// @ts-check
/** Dashboard entry: one SDK client for the page's origin, then the app. */

import { createBrowserClient } from "/sdk/browser.js";
import { html, render } from "./html.js";
import { startAutoRefresh } from "./refresh.js";
import { Root } from "./shell.js";

const client = createBrowserClient();
await client.start();
startAutoRefresh();
const root = /** @type {HTMLElement} */ (document.getElementById("app"));
root.textContent = "";
render(html`<${Root} client=${client} />`, root);
// The page answers input from here on (bench/bench_dashboard.py reads this mark).
performance.mark("pmi:interactive");
