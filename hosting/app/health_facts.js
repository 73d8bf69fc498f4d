// @ts-check
/**
 * What the Overview's health card says, from `GET /api/monitoring/health/detailed` (or the
 * public `/health`, which carries status and version only): the last 5 minutes' requests,
 * 5xx share and p95 next to the thresholds the monitoring function judges them against,
 * whether there were enough requests to judge, and each dependency. Pure (no DOM), tested
 * by node --test.
 */

import { duration, label, number, percent } from "./format.js";

/**
 * @typedef {object} HealthFact
 * @property {string} term
 * @property {string} detail
 * @property {boolean} [over] the figure is beyond its threshold (shown as a warning)
 */

/**
 * @param {Partial<import("/sdk/api.js").MonitoringHealthDetailed>} health
 * @returns {HealthFact[]}
 */
export function healthFacts(health) {
  /** @type {HealthFact[]} */
  const facts = [{ term: "Version", detail: health.version ?? "–" }];
  if (health.uptime_seconds != null) facts.push({ term: "Instance uptime", detail: duration(health.uptime_seconds) });
  const recent = health.performance;
  const limits = health.thresholds;
  if (recent && !recent.available) {
    facts.push({ term: "Last 5 minutes", detail: "figures could not be read", over: true });
  } else if (recent) {
    // Below min_requests the monitoring function judges neither figure; say so beside them.
    const judged = !limits || recent.requests >= limits.min_requests;
    facts.push({
      term: "Requests (5 min)",
      detail: judged ? number(recent.requests) : `${number(recent.requests)} — fewer than ${number(limits?.min_requests)}, not judged`,
    });
    facts.push({
      term: "5xx share (5 min)",
      detail: `${percent(recent.error_rate)}${limits ? ` (limit ${percent(limits.max_error_rate)})` : ""}`,
      over: judged && !!limits && recent.error_rate > limits.max_error_rate,
    });
    facts.push({
      term: "p95 latency (5 min)",
      detail: `${recent.p95_ms == null ? "–" : `${number(recent.p95_ms)} ms`}${limits ? ` (limit ${number(limits.max_p95_ms)} ms)` : ""}`,
      over: judged && !!limits && recent.p95_ms != null && recent.p95_ms > limits.max_p95_ms,
    });
  }
  for (const dependency of health.dependencies ?? []) {
    facts.push({
      term: label(dependency.name),
      detail: dependency.ok ? `ok, ${number(dependency.latency_ms, 1)} ms` : `down: ${dependency.error ?? "no answer"}`,
      over: !dependency.ok,
    });
  }
  return facts;
}
