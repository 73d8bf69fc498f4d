// @ts-check
/**
 * Every route of the four functions as a method, grouped as the API is: `auth`, `users`,
 * `vehicles`, `centers`, `bookings`, `monitoring` (docs/routes.md lists the routes, and
 * docs/sdk.md these calls). Mutations that make sense offline go through the offline
 * queue (`offline: "queue"`, the default for them) and may resolve to `{queued: true}`;
 * booking creation and suggestion acceptance carry an Idempotency-Key, reused on retry
 * and on replay.
 */

import { PmiClient } from "./client.js";

/** @template T @typedef {{items: T[], next_cursor: string | null}} Page */
/** @typedef {import("./client.js").Queued} Queued */
/** @typedef {import("./client.js").MutationOptions} MutationOptions */
/** @typedef {import("./session.js").User} User */
/** @typedef {"admin" | "customer" | "service_center" | "mechanic" | "viewer"} Role */
/** @typedef {{limit?: number, cursor?: string}} PageQuery */

/**
 * @typedef {object} Vehicle
 * @property {string} id
 * @property {string} [owner_id] absent for viewers
 * @property {string} [vin] absent for viewers (personal data)
 * @property {string} make
 * @property {string} model
 * @property {number} year
 * @property {number} mileage_km
 * @property {string | null} [plate] absent for viewers
 * @property {string | null} [nickname] absent for viewers
 * @property {string | null} fuel_type
 * @property {string[]} [center_ids] absent for viewers
 * @property {number | null} odometer_km
 * @property {string | null} last_reading_at
 * @property {{code: string, name: string, due_date: string | null, due_km: number | null, urgency: string}[]} due_services
 * @property {number | null} health_score
 * @property {string | null} health_evaluated_at
 * @property {Record<string, unknown>} [maintenance_overrides]
 * @property {string} created_at
 * @property {string} updated_at
 */

/**
 * A registration of a VIN that is registered to someone else already (docs/vehicles.md, "VIN
 * claims"): an administrator approves it (the claimant gets the VIN) or rejects it. The
 * claimant sees nothing about the current registration; admins also get the fields marked.
 * @typedef {object} VinClaim
 * @property {string} id
 * @property {string} vin
 * @property {"pending" | "approved" | "rejected"} status
 * @property {string} created_at
 * @property {string | null} resolved_at
 * @property {string | null} vehicle_id the claimant's vehicle, once approved
 * @property {string} [claimant_id] admins only
 * @property {Record<string, unknown>} [requested] admins only: the registration asked for
 * @property {string | null} [resolved_by] admins only
 * @property {string | null} [resolution_reason] admins only
 * @property {Record<string, unknown> | null} [current_registration] admins only, while pending
 */

/**
 * What `vehicles.create` answers (202) when the VIN is registered already: nothing is
 * registered to the caller yet; the claim waits for an administrator. Tell it apart from a
 * {@link Vehicle} with {@link isVinClaimPending}.
 * @typedef {object} VinClaimPending
 * @property {"pending_review"} status
 * @property {string} message
 * @property {VinClaim} claim
 */

/**
 * True when `vehicles.create` answered with a pending VIN claim rather than a vehicle.
 * @param {Vehicle | VinClaimPending | null | undefined} result
 * @returns {result is VinClaimPending}
 */
export function isVinClaimPending(result) {
  return (
    typeof result === "object" &&
    result !== null &&
    "claim" in result &&
    result.status === "pending_review"
  );
}

/**
 * @typedef {object} Finding
 * @property {string} rule_id
 * @property {"critical" | "high" | "medium" | "low" | "info"} severity
 * @property {string} title
 * @property {Record<string, unknown>} evidence
 * @property {string} recommended_action
 * @property {string | null} service_code
 * @property {string | null} predicted_failure_date a trend's predicted crossing (YYYY-MM-DD), else null
 * @property {string | null} book_by book before this day (YYYY-MM-DD) when a failure is predicted
 */

/**
 * @typedef {object} MaintenanceForecast
 * @property {string} code
 * @property {string} name
 * @property {string | null} [due_date]
 * @property {number | null} [due_km]
 * @property {number | null} [remaining_km]
 * @property {number | null} [days_left]
 * @property {"ok" | "upcoming" | "due_soon" | "overdue" | string} urgency
 * @property {string} [basis] which limit made the due date: "time" or "km"
 */

/**
 * @typedef {object} HealthReport
 * @property {string} [vehicle_id] absent for viewers
 * @property {number} score 0..100
 * @property {Finding[]} findings most severe first
 * @property {MaintenanceForecast[]} maintenance
 * @property {number} readings_considered
 * @property {string} evaluated_at
 */

/**
 * @typedef {object} Alert
 * @property {string} [id] absent for viewers (it embeds the vehicle's id)
 * @property {string} [vehicle_id] absent for viewers
 * @property {string} [owner_id] absent for viewers
 * @property {"open" | "resolved"} status
 * @property {"critical" | "high"} severity
 * @property {string} rule_id
 * @property {string | null} [title] every alert the platform raises has one; older data may not
 * @property {string | null} [service_code]
 * @property {Record<string, unknown> | null} [evidence]
 * @property {string | null} [recommended_action]
 * @property {string | null} [opened_at]
 * @property {string | null} [updated_at]
 * @property {string | null} [resolved_at]
 * @property {string | null} [resolution]
 * @property {string | null} [book_by] a trend alert: book before this day (YYYY-MM-DD)
 * @property {string | null} [predicted_failure_date] a trend alert: the predicted crossing
 * @property {string[] | null} [center_ids] absent for viewers
 */

/**
 * @typedef {object} TelemetryReading
 * @property {string} timestamp
 * @property {number} [odometer_km]
 * @property {number} [battery_voltage]
 * @property {boolean} [engine_running]
 * @property {number} [coolant_temp_c]
 * @property {string[]} [dtc_codes]
 * @property {string[]} [dtc_pending]
 * @property {number | null} [ambient_temp_c]
 * @property {string[]} [flags]
 */

/**
 * @typedef {object} ServiceRecord
 * @property {string} [id] absent for viewers when it embeds a booking's id (booking-{id})
 * @property {string} performed_at
 * @property {number} mileage_km
 * @property {string[]} service_codes
 * @property {string} [work_done] absent for viewers
 * @property {number | {amount: number, currency: string} | null} [cost] a number, or {amount, currency} when a booking recorded it
 * @property {string | null} [center_id]
 * @property {string | null} [source] "owner", "staff" or "booking": who recorded it
 * @property {string | null} [booking_id] the booking that recorded it; absent for viewers
 * @property {string | null} [created_by] absent for viewers
 * @property {string | null} [created_at]
 */

/**
 * @typedef {object} Center
 * @property {string} id
 * @property {string} name
 * @property {string} address
 * @property {string} time_zone IANA zone, e.g. "Europe/Berlin"
 * @property {Record<string, string[][]>} opening_hours weekday ("mon".."sun") → [open, close] pairs
 * @property {number} bays
 * @property {number} slot_step_minutes
 * @property {{code: string, name: string, duration_minutes: number}[]} services
 * @property {string[]} [mechanic_ids] absent for viewers
 * @property {{lat: number, lng: number} | null} location
 * @property {string | null} created_at
 * @property {string | null} updated_at
 */

/** @typedef {{start: string, end: string, remaining: number}} Slot */

/**
 * @typedef {"requested" | "confirmed" | "in_progress" | "completed" | "cancelled" | "no_show"} BookingStatus
 */

/**
 * @typedef {object} Booking
 * @property {string} id
 * @property {string} [customer_id] absent for viewers
 * @property {string} [vehicle_id] absent for viewers
 * @property {string} center_id
 * @property {string} center_name
 * @property {string} service_type
 * @property {string} service_name
 * @property {number} duration_minutes
 * @property {string} start ISO 8601 in the center's zone
 * @property {string} end
 * @property {string} time_zone
 * @property {BookingStatus} status
 * @property {string | null} [mechanic_id] null until one is assigned; absent for viewers
 * @property {string | null} [notes]
 * @property {string} source
 * @property {string | null} [suggestion_id] absent for viewers
 * @property {{mileage_km: number, work_done?: string, cost: {amount: number, currency: string}} | null} completion work_done absent for viewers
 * @property {{at: string, action: string, from_state: string | null, to_state: string, actor_role: string, actor_id?: string, reason?: string}[]} history
 * @property {string} created_at
 * @property {string} updated_at
 */

/**
 * @typedef {object} Suggestion a free slot for an open alert or a due service
 * @property {string} id pass it to `acceptSuggestion`
 * @property {string} vehicle_id
 * @property {string} service_code
 * @property {string} service_name
 * @property {{kind: "alert" | "due_service", title?: string, severity?: string, urgency?: string, due_date?: string | null}} reason the most urgent reason
 * @property {{kind: string}[]} reasons
 * @property {{id: string, name: string, address: string | null, distance_km: number | null}} center
 * @property {string} start ISO 8601 in the center's zone
 * @property {string} end
 * @property {number} remaining bays still free
 * @property {string | null} [book_before] when a failure is predicted: book before this day
 * @property {boolean | null} [before_predicted_date] whether this slot is before the predicted failure
 */

/**
 * @typedef {object} MonitoringHealth  The public health answer: status and version only
 *   (no I/O; `degraded` is only ever said by `/health/detailed`).
 * @property {"ok" | "degraded"} status
 * @property {string} version
 */

/**
 * @typedef {object} HealthThresholds  what `/health/detailed` judges the last 5 minutes against
 * @property {number} max_error_rate a 5xx share above this is `degraded` (0.05 = 5 %)
 * @property {number} max_p95_ms a p95 above this is `degraded`
 * @property {number} min_requests with fewer requests, neither figure is judged
 */

/**
 * @typedef {object} RecentPerformance  every function together, over the last 5 minutes
 * @property {"5m"} [window]
 * @property {number} requests
 * @property {number} error_rate 5xx ÷ requests (0 without requests)
 * @property {number | null} p95_ms null without requests
 * @property {string | null} read_at when the figures were read (ISO 8601, UTC)
 * @property {boolean} available false: the figures could not be read (`reasons` says so)
 */

/**
 * @typedef {object} MonitoringHealthDetailed  `GET /health/detailed` (`monitoring:read`).
 * @property {"ok" | "degraded"} status
 * @property {string[]} reasons why it is `degraded`, one sentence each (empty when `ok`)
 * @property {string} version
 * @property {string} function the function that answered (`monitoring`)
 * @property {number} uptime_seconds of the answering instance
 * @property {{name: string, ok: boolean, latency_ms: number, error: string | null}[]} dependencies
 * @property {RecentPerformance} performance
 * @property {HealthThresholds} thresholds
 * @property {{pid: number, rss_bytes: number, threads: number, uptime_seconds: number}} process the answering instance
 * @property {{address: string, source: string, limit_key: string, peer: string | null, forwarded_for: string[], trusted_proxy_hops: number}} client_ip
 *   how the caller's IP was read (to set `PMI_TRUSTED_PROXY_HOPS`)
 */

/**
 * @typedef {object} AuditEntry  one security event from `audit_log`
 * @property {string} id
 * @property {string} event e.g. "role_changed", "login_failed", "vin_claim_approved"
 * @property {string} at ISO 8601 (UTC)
 * @property {string | null} actor_id who did it (null: nobody signed in)
 * @property {string | null} subject_id whose account it concerns
 * @property {string | null} request_id the platform's id of the request (its log lines)
 * @property {string | null} client_request_id the X-Request-ID the client sent, if any
 * @property {string | null} ip the client's address
 * @property {Record<string, unknown>} details never a password, hash or token
 */

/**
 * @typedef {Page<AuditEntry> & {people: Record<string, {email: string | null, full_name: string | null}>}} AuditPage
 *   `people`: the email and name of each user the page's entries mention (by id)
 */

/**
 * @typedef {PageQuery & {subject_id?: string, actor_id?: string, event?: string, from?: string, to?: string}} AuditQuery
 *   `from` (inclusive) and `to` (exclusive) are ISO 8601 instants with an offset
 */

/**
 * @typedef {object} TeamMember  a mechanic of the center, as its staff may see them
 * @property {string} id
 * @property {string | null} full_name null when the account is no longer a mechanic of the center
 * @property {"mechanic" | null} role
 * @property {boolean} active a current, active mechanic of the center (assignable)
 */

/**
 * @typedef {object} CenterSuggestion  what a vehicle the center may see needs, with the center's own free slots
 * @property {string} vehicle_id
 * @property {{make: string | null, model: string | null, year: number | null, plate: string | null}} vehicle
 * @property {string} service_code
 * @property {string} service_name
 * @property {boolean} offered false when the center does not offer the service (no slots)
 * @property {{kind: "alert", alert_id: string, severity: string, title: string | null, predicted_failure_date?: string, book_by?: string | null, why?: string | null}} reason the most urgent
 * @property {Record<string, unknown>[]} reasons
 * @property {Slot[]} slots the soonest free ones (before `book_before` when there is one)
 * @property {string} [book_before] a predicted failure date
 * @property {boolean} [before_predicted_date]
 */

/**
 * @typedef {object} PerformanceFigures  requests, errors and latency over a window
 * @property {number} requests
 * @property {{total: number, "4xx": number, "5xx": number}} errors
 * @property {number} rate_limited
 * @property {number} cold_starts
 * @property {number} error_rate 5xx ÷ requests (0 without requests)
 * @property {{p50: number | null, p95: number | null, p99: number | null, mean: number | null}} latency_ms
 */

/**
 * @typedef {object} PerformanceSeries  per-minute columns, oldest first
 * @property {number[]} t start of each minute, epoch seconds
 * @property {number[]} requests
 * @property {number[]} errors_4xx
 * @property {number[]} errors_5xx
 * @property {number[]} rate_limited
 * @property {number[]} cold_starts
 * @property {(number | null)[]} p50_ms
 * @property {(number | null)[]} p95_ms
 * @property {(number | null)[]} p99_ms
 */

/**
 * @typedef {PerformanceFigures & {routes: Record<string, PerformanceFigures>, series: PerformanceSeries}} FunctionPerformance
 */

/**
 * @typedef {object} PerformanceReport  `GET /api/monitoring/stats/performance` (every instance, merged)
 * @property {"5m" | "1h" | "24h"} window
 * @property {string} start start of the window's first minute (ISO 8601, UTC)
 * @property {string} end end of the window (the current minute's end)
 * @property {number} step_seconds 60: one entry of `series` per minute
 * @property {string | null} function the `function` filter, if any
 * @property {string | null} route the `route` filter, if any
 * @property {string} read_at when the figures were read from Firestore
 * @property {boolean} cached served from the monitoring instance's cache (`read_at` says how old)
 * @property {number} instances how many instances' figures are merged
 * @property {number} documents_read what the read cost (billed reads)
 * @property {number[]} latency_bounds_ms the histogram's bucket bounds (percentiles are exact to one bucket)
 * @property {PerformanceFigures} totals
 * @property {PerformanceSeries} series
 * @property {Record<string, FunctionPerformance>} functions by function name
 */

/** @typedef {{count: number, read_at: string}} CountFigure  one aggregation count and when it was read */

/**
 * @typedef {object} DatabaseStats  `GET /api/monitoring/stats/database` (aggregation counts)
 * @property {string} read_at
 * @property {boolean} cached served from the monitoring instance's cache
 * @property {number} cache_seconds how old a cached answer may be
 * @property {number} queries aggregation queries one uncached call runs
 * @property {string} reads_note what an uncached call costs in reads
 * @property {Record<string, CountFigure>} collections users, vehicles, bookings, alerts, centers
 * @property {Record<string, CountFigure>} bookings_by_status every status, all time
 * @property {Record<string, CountFigure>} open_alerts_by_severity critical, high
 * @property {Record<string, CountFigure>} users_by_role
 * @property {CountFigure} new_users_last_7_days
 * @property {{count: number, read_at: string, days: Record<string, number>, method: string}} telemetry_readings_last_24h
 *   `count` is an estimate; `days` holds each UTC day's exact count
 */

/**
 * @typedef {object} InstanceMetrics  `GET /api/monitoring/metrics`: the answering monitoring instance only
 * @property {string} read_at
 * @property {{pid: number, cpu_percent: number, cpu_seconds: number, rss_bytes: number, memory_percent: number, threads: number, open_connections: number | null, open_files: number | null, uptime_seconds: number}} process
 *   `cpu_percent` since the previous call on this instance
 * @property {{cpu_count: number, cpu_percent: number, memory_total_bytes: number, memory_available_bytes: number, disk_path: string, disk_total_bytes: number, disk_used_bytes: number, disk_free_bytes: number}} system
 * @property {{function: string, version: string, environment: string, region: string | null, service: string | null, revision: string | null, concurrency: number | null, limits: InstanceLimits}} configuration
 * @property {Record<string, unknown>} recording the instance's request-metrics recorder (mode, flushes, pending minutes, …)
 */

/**
 * @typedef {object} InstanceLimits
 * @property {number | null} memory_bytes the container's memory limit (null: unlimited)
 * @property {number | null} cpus the container's CPU quota (null: unlimited)
 * @property {number} max_body_bytes
 * @property {number} rate_limit_per_minute
 * @property {number} rate_limit_burst
 * @property {string} rate_limit_backend
 */

/** @param {string} id */
const seg = (id) => encodeURIComponent(id);

export class Pmi extends PmiClient {
  /** @param {import("./client.js").ClientOptions} [options] */
  constructor(options) {
    super(options);
    const client = this;

    this.auth = {
      /** @returns {Promise<{status: string, function: string}>} */
      health: () => client.request("GET", "/api/auth/health", { auth: false }),
      /** @returns {Promise<User>} */
      me: () => client.request("GET", "/api/auth/me"),
      /**
       * @param {{full_name?: string, phone?: string | null}} changes
       * @returns {Promise<User>}
       */
      updateMe: (changes) => client.request("PATCH", "/api/auth/me", { body: changes }),
      /**
       * Every other session of this user ends; this one stays signed in.
       * @param {string} currentPassword
       * @param {string} newPassword
       * @returns {Promise<null>}
       */
      changePassword: (currentPassword, newPassword) =>
        client.request("POST", "/api/auth/password", {
          body: { current_password: currentPassword, new_password: newPassword },
        }),
    };

    this.users = {
      /**
       * Newest first. `q` finds users whose email, or any word of whose name, starts with it
       * (case, accents and punctuation ignored).
       * @param {PageQuery & {role?: Role, active?: boolean, q?: string}} [query]
       * @returns {Promise<Page<User>>}
       */
      list: (query = {}) => client.request("GET", "/api/auth/users", { query }),
      /** @param {string} userId @returns {Promise<User>} */
      get: (userId) => client.request("GET", `/api/auth/users/${seg(userId)}`),
      /**
       * Role, active flag or service center; effective on the user's next request.
       * @param {string} userId
       * @param {{role?: Role, is_active?: boolean, service_center_id?: string | null}} changes
       * @returns {Promise<User>}
       */
      update: (userId, changes) => client.request("PATCH", `/api/auth/users/${seg(userId)}`, { body: changes }),
    };

    this.audit = {
      /**
       * The audit trail, newest first (`audit:read`: admins).
       * @param {AuditQuery} [query]
       * @returns {Promise<AuditPage>}
       */
      list: (query = {}) => client.request("GET", "/api/auth/audit", { query }),
    };

    this.vehicles = {
      /** @returns {Promise<{status: string, function: string}>} */
      health: () => client.request("GET", "/api/vehicles/health", { auth: false }),
      /**
       * Register a vehicle: the vehicle (201), or — when the VIN is registered to someone
       * else — a pending claim an administrator reviews (202; {@link isVinClaimPending}).
       * A VIN the caller holds already is a `ConflictError` (`vin_already_yours`).
       * @param {{vin: string, make: string, model: string, year: number, mileage_km: number, plate?: string, nickname?: string, fuel_type?: string}} body
       * @returns {Promise<Vehicle | VinClaimPending>}
       */
      create: (body) => client.request("POST", "/api/vehicles", { body }),
      /**
       * The caller's VIN claims (admins: everyone's, with the current registration).
       * @param {PageQuery & {status?: "pending" | "approved" | "rejected"}} [query] default `pending`
       * @returns {Promise<Page<VinClaim>>}
       */
      vinClaims: (query = {}) => client.request("GET", "/api/vehicles/vin-claims", { query }),
      /**
       * Admins: approve (the claimant gets the VIN; the current registration is removed) or
       * reject a pending claim, with a reason of 10–500 characters.
       * @param {string} claimId
       * @param {{decision: "approve" | "reject", reason: string}} resolution
       * @returns {Promise<VinClaim & {removed_vehicle_id: string | null}>}
       */
      resolveVinClaim: (claimId, resolution) =>
        client.request("POST", `/api/vehicles/vin-claims/${seg(claimId)}/resolve`, { body: resolution }),
      /**
       * @param {PageQuery & {make?: string, fuel_type?: string}} [query]
       * @returns {Promise<Page<Vehicle>>}
       */
      list: (query = {}) => client.request("GET", "/api/vehicles", { query }),
      /**
       * @param {PageQuery & {status?: "open" | "resolved", severity?: "critical" | "high"}} [query]
       * @returns {Promise<Page<Alert>>}
       */
      alerts: (query = {}) => client.request("GET", "/api/vehicles/alerts", { query }),
      /** @param {string} vehicleId @returns {Promise<Vehicle>} */
      get: (vehicleId) => client.request("GET", `/api/vehicles/${seg(vehicleId)}`),
      /**
       * @param {string} vehicleId
       * @param {{plate?: string | null, nickname?: string | null, fuel_type?: string | null, mileage_km?: number, maintenance_overrides?: Record<string, unknown>}} changes
       * @returns {Promise<Vehicle>}
       */
      update: (vehicleId, changes) => client.request("PATCH", `/api/vehicles/${seg(vehicleId)}`, { body: changes }),
      /** @param {string} vehicleId @returns {Promise<null>} */
      remove: (vehicleId) => client.request("DELETE", `/api/vehicles/${seg(vehicleId)}`),
      /**
       * Up to 500 readings; a 207 reply lists each refused one with its reason.
       * @param {string} vehicleId
       * @param {TelemetryReading[]} readings
       * @param {MutationOptions} [options]
       * @returns {Promise<{accepted: number, rejected: unknown[], health_evaluated: boolean} | Queued>}
       */
      addTelemetry: (vehicleId, readings, options = {}) =>
        client.mutate("POST", `/api/vehicles/${seg(vehicleId)}/telemetry`, {
          body: { readings },
          label: `Send ${readings.length} telemetry readings`,
          ...options,
        }),
      /**
       * Oldest first; `from`/`to` are ISO 8601 with an offset (default: the last 7 days).
       * @param {string} vehicleId
       * @param {PageQuery & {from?: string, to?: string}} [query]
       * @returns {Promise<Page<TelemetryReading> & {from: string, to: string}>}
       */
      telemetry: (vehicleId, query = {}) =>
        client.request("GET", `/api/vehicles/${seg(vehicleId)}/telemetry`, { query }),
      /**
       * @param {string} vehicleId
       * @param {PageQuery} [query]
       * @returns {Promise<Page<ServiceRecord>>}
       */
      serviceRecords: (vehicleId, query = {}) =>
        client.request("GET", `/api/vehicles/${seg(vehicleId)}/service-records`, { query }),
      /**
       * @param {string} vehicleId
       * @param {{performed_at: string, mileage_km: number, service_codes: string[], work_done?: string, cost?: number | null, center_id?: string | null}} record
       * @param {MutationOptions} [options]
       * @returns {Promise<ServiceRecord | Queued>}
       */
      addServiceRecord: (vehicleId, record, options = {}) =>
        client.mutate("POST", `/api/vehicles/${seg(vehicleId)}/service-records`, {
          body: record,
          label: "Add a service record",
          ...options,
        }),
      /**
       * Score and explainable findings (evaluates now; refreshes alerts and due services).
       * @param {string} vehicleId
       * @returns {Promise<HealthReport>}
       */
      healthReport: (vehicleId) => client.request("GET", `/api/vehicles/${seg(vehicleId)}/health`),
    };

    this.centers = {
      /** @param {PageQuery} [query] @returns {Promise<Page<Center>>} */
      list: (query = {}) => client.request("GET", "/api/bookings/centers", { query }),
      /** @param {string} centerId @returns {Promise<Center>} */
      get: (centerId) => client.request("GET", `/api/bookings/centers/${seg(centerId)}`),
      /** @param {Omit<Center, "id">} body @returns {Promise<Center>} */
      create: (body) => client.request("POST", "/api/bookings/centers", { body }),
      /** @param {string} centerId @param {Partial<Omit<Center, "id">>} changes @returns {Promise<Center>} */
      update: (centerId, changes) =>
        client.request("PATCH", `/api/bookings/centers/${seg(centerId)}`, { body: changes }),
      /**
       * Slots of one center-local day for one service, with the bays still free.
       * @param {string} centerId
       * @param {{date: string, service: string}} query date is YYYY-MM-DD in the center's zone
       * @returns {Promise<{center_id: string, date: string, service: string, time_zone: string, slots: Slot[]}>}
       */
      availability: (centerId, query) =>
        client.request("GET", `/api/bookings/centers/${seg(centerId)}/availability`, { query }),
      /**
       * The center's mechanics by name (its staff and admins; another center's staff: 404).
       * @param {string} centerId
       * @returns {Promise<{center_id: string, items: TeamMember[]}>}
       */
      team: (centerId) => client.request("GET", `/api/bookings/centers/${seg(centerId)}/team`),
      /**
       * What the vehicles the center may see now need, with the center's own free slots
       * (its service-center staff and admins).
       * @param {string} centerId
       * @returns {Promise<{center_id: string, time_zone: string, suggestions: CenterSuggestion[]}>}
       */
      suggestions: (centerId) =>
        client.request("GET", `/api/bookings/centers/${seg(centerId)}/suggestions`),
    };

    /**
     * @param {string} bookingId
     * @param {string} action
     * @param {string} label
     * @param {unknown} [body]
     * @param {MutationOptions} [options]
     * @returns {Promise<Booking | Queued>}
     */
    const act = (bookingId, action, label, body, options = {}) =>
      client.mutate("POST", `/api/bookings/${seg(bookingId)}/${action}`, { body, label, ...options });

    this.bookings = {
      /** @returns {Promise<{status: string, function: string}>} */
      health: () => client.request("GET", "/api/bookings/health", { auth: false }),
      /**
       * Books a service; an Idempotency-Key is generated (or yours used) and reused on retry.
       * @param {{vehicle_id: string, center_id: string, service_type: string, start: string, notes?: string | null}} body
       * @param {MutationOptions} [options]
       * @returns {Promise<Booking | Queued>}
       */
      create: (body, options = {}) =>
        client.mutate("POST", "/api/bookings", {
          body,
          idempotent: true,
          label: `Book ${body.service_type.replaceAll("_", " ")} on ${body.start.slice(0, 16).replace("T", " ")}`,
          ...options,
        }),
      /**
       * By start. Either `date`, one day (YYYY-MM-DD) on the center's own clock — with
       * `center_id`, which staff may leave out (theirs) — or `from`/`to`, UTC dates (`to`
       * exclusive).
       * @param {PageQuery & {status?: BookingStatus, center_id?: string, date?: string, from?: string, to?: string}} [query]
       * @returns {Promise<Page<Booking>>}
       */
      list: (query = {}) => client.request("GET", "/api/bookings", { query }),
      /** @param {string} bookingId @returns {Promise<Booking>} */
      get: (bookingId) => client.request("GET", `/api/bookings/${seg(bookingId)}`),
      /**
       * Free slots for the caller's vehicles' open alerts and due services.
       * @param {{lat?: number, lng?: number}} [near]
       * @returns {Promise<{suggestions: Suggestion[]}>}
       */
      suggestions: (near = {}) => client.request("GET", "/api/bookings/suggestions", { query: near }),
      /**
       * @param {string} suggestionId
       * @param {MutationOptions} [options]
       * @returns {Promise<Booking | Queued>}
       */
      acceptSuggestion: (suggestionId, options = {}) =>
        client.mutate("POST", `/api/bookings/suggestions/${seg(suggestionId)}/accept`, {
          idempotent: true,
          label: "Accept a suggested booking",
          ...options,
        }),
      /** @param {string} bookingId @param {MutationOptions} [options] */
      confirm: (bookingId, options) => act(bookingId, "confirm", "Confirm a booking", undefined, options),
      /** @param {string} bookingId @param {MutationOptions} [options] */
      start: (bookingId, options) => act(bookingId, "start", "Start work on a booking", undefined, options),
      /**
       * Completes the work and writes the vehicle's service record.
       * @param {string} bookingId
       * @param {{mileage_km: number, work_done: string, cost: {amount: number, currency: string}}} record
       * @param {MutationOptions} [options]
       */
      complete: (bookingId, record, options) => act(bookingId, "complete", "Complete a booking", record, options),
      /**
       * @param {string} bookingId
       * @param {string | null} [reason]
       * @param {MutationOptions} [options]
       */
      cancel: (bookingId, reason, options) =>
        act(bookingId, "cancel", "Cancel a booking", reason ? { reason } : undefined, options),
      /** @param {string} bookingId @param {MutationOptions} [options] */
      noShow: (bookingId, options) => act(bookingId, "no-show", "Mark a no-show", undefined, options),
      /**
       * @param {string} bookingId
       * @param {string} mechanicId a mechanic of the booking's center
       * @param {MutationOptions} [options]
       */
      assign: (bookingId, mechanicId, options) =>
        act(bookingId, "assign", "Assign a mechanic", { mechanic_id: mechanicId }, options),
      /**
       * @param {string} bookingId
       * @param {string} start ISO 8601 with an offset
       * @param {MutationOptions} [options]
       */
      reschedule: (bookingId, start, options) =>
        act(bookingId, "reschedule", "Reschedule a booking", { start }, options),
    };

    this.monitoring = {
      /** @returns {Promise<{status: string}>} */
      live: () => client.request("GET", "/api/monitoring/health/live", { auth: false }),
      /** Firestore answers within the readiness deadline; else a 503 `not_ready` error. @returns {Promise<{status: "ready"}>} */
      ready: () => client.request("GET", "/api/monitoring/health/ready", { auth: false }),
      /** @returns {Promise<MonitoringHealth>} */
      health: () => client.request("GET", "/api/monitoring/health", { auth: false }),
      /**
       * Dependencies, the last 5 minutes' error rate and p95 against the thresholds, and
       * the reasons when `degraded` (`monitoring:read`).
       * @returns {Promise<MonitoringHealthDetailed>}
       */
      healthDetailed: () => client.request("GET", "/api/monitoring/health/detailed"),
      /**
       * Requests, errors, latency percentiles and per-minute series across every instance
       * (`monitoring:read`). A deployment without the statistics routes answers 404
       * (`NotFoundError`): say so rather than fail.
       * @param {{window?: "5m" | "1h" | "24h", function?: string, route?: string}} [query]
       * @returns {Promise<PerformanceReport>}
       */
      performance: (query = {}) => client.request("GET", "/api/monitoring/stats/performance", { query }),
      /**
       * Document counts by aggregation queries (`monitoring:read`; cached briefly server-side).
       * @returns {Promise<DatabaseStats>}
       */
      database: () => client.request("GET", "/api/monitoring/stats/database"),
      /**
       * The answering monitoring instance: process, system, configuration and limits, its
       * metrics recorder (`monitoring:read`). One instance, not the platform.
       * @returns {Promise<InstanceMetrics>}
       */
      metrics: () => client.request("GET", "/api/monitoring/metrics"),
    };
  }
}

/**
 * The SDK's entry point.
 * @param {import("./client.js").ClientOptions} [options]
 */
export function createClient(options) {
  return new Pmi(options);
}
