// Copies the dashboard's browser libraries from node_modules into hosting/vendor/ (git-ignored),
// so Hosting serves every asset itself (no CDN at run time) and no bundler is needed.
//
// - preact and preact/hooks as ES modules; the hooks module's bare `from "preact"` import is
//   rewritten to the sibling file, because browsers resolve only URLs without an import map
//   (and an inline import map would need 'unsafe-inline' in the Content-Security-Policy).
// - htm as an ES module.
// - uPlot's minified build, wrapped as an ES module (its ESM build is not minified: 41 KB
//   gzipped instead of 21 KB), and its stylesheet.
// - Swagger UI's standalone bundle and stylesheet for the API reference at /api/docs.
// - each package's LICENSE, served beside it, and manifest.json naming versions and files.
//
// Run by `make assets` (part of `make deps`, so `make dev` and `make test` run it) and by any
// Hosting deploy: `npm ci && node scripts/vendor_assets.mjs` before `firebase deploy`.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODULES = join(ROOT, "node_modules");
const OUT = join(ROOT, "hosting", "vendor");

/** @param {string} text */
const stripSourceMap = (text) => text.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");

/**
 * @param {string} text
 * @param {string} from
 * @param {string} to
 * @param {string} what
 */
function replaceOnce(text, from, to, what) {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`${what}: expected exactly one '${from}', found ${count}; the package changed shape`);
  return text.replace(from, to);
}

/** @param {string} name */
function packageVersion(name) {
  return JSON.parse(readFileSync(join(MODULES, name, "package.json"), "utf8")).version;
}

const FILES = [
  { pkg: "preact", src: "preact/dist/preact.mjs", out: "preact.js", transform: stripSourceMap },
  {
    pkg: "preact",
    src: "preact/hooks/dist/hooks.mjs",
    out: "preact-hooks.js",
    transform: (text) => replaceOnce(stripSourceMap(text), 'from"preact"', 'from"./preact.js"', "preact/hooks"),
  },
  { pkg: "htm", src: "htm/dist/htm.module.js", out: "htm.js", transform: stripSourceMap },
  {
    pkg: "uplot",
    src: "uplot/dist/uPlot.iife.min.js",
    out: "uplot.js",
    transform: (text) => {
      if (!/^(\/\*[^]*?\*\/\s*)?var uPlot=/.test(text)) throw new Error("uplot: the IIFE build no longer starts with 'var uPlot='");
      return `${text.trimEnd()}\nexport default uPlot;\n`;
    },
  },
  { pkg: "uplot", src: "uplot/dist/uPlot.min.css", out: "uplot.css", transform: (text) => text },
  // The API reference viewer at /api/docs (hosting/api/docs.html): Swagger UI's standalone
  // bundle and stylesheet, without their source-map comments (the maps are not copied).
  {
    pkg: "swagger-ui-dist",
    src: "swagger-ui-dist/swagger-ui-bundle.js",
    out: "swagger-ui/swagger-ui-bundle.js",
    transform: stripSourceMap,
  },
  {
    pkg: "swagger-ui-dist",
    src: "swagger-ui-dist/swagger-ui.css",
    out: "swagger-ui/swagger-ui.css",
    transform: (text) => text.replace(/\n?\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, "\n"),
  },
];

function main() {
  if (!existsSync(join(MODULES, "preact"))) {
    console.error("node_modules is missing: run `npm ci` (or `make assets`) first.");
    process.exit(1);
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, "licenses"), { recursive: true });
  const manifest = { generated_by: "scripts/vendor_assets.mjs", packages: /** @type {Record<string, any>} */ ({}) };
  for (const file of FILES) {
    const text = file.transform(readFileSync(join(MODULES, file.src), "utf8"));
    mkdirSync(dirname(join(OUT, file.out)), { recursive: true });
    writeFileSync(join(OUT, file.out), text);
    const entry = (manifest.packages[file.pkg] ??= {
      version: packageVersion(file.pkg),
      license: `licenses/${file.pkg}.txt`,
      files: {},
    });
    entry.files[file.out] = { from: file.src, sha256: createHash("sha256").update(text).digest("hex") };
  }
  for (const pkg of Object.keys(manifest.packages)) {
    writeFileSync(join(OUT, "licenses", `${pkg}.txt`), readFileSync(join(MODULES, pkg, "LICENSE"), "utf8"));
  }
  writeFileSync(join(OUT, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const names = Object.entries(manifest.packages).map(([name, p]) => `${name} ${p.version}`);
  console.log(`==> hosting/vendor/: ${names.join(", ")}`);
}

main();
