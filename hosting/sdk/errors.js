// @ts-check
/**
 * Typed errors of the PMI client SDK.
 *
 * Every failure a caller sees is a {@link PmiError}: an {@link ApiError} when the API
 * answered with its error envelope `{"error": {"code", "message", "request_id", "details"}}`
 * (one subclass per status a caller commonly handles), a {@link NetworkError} when no
 * answer arrived, a {@link SessionExpiredError} when the user is signed out and must sign
 * in again. `code` is the envelope's stable machine-readable code; show `message` and
 * `requestId` to people (support can find the request's log line by its id).
 */

/** @typedef {{field?: string, location?: string, message?: string, type?: string, [key: string]: unknown}} ErrorDetail */

export class PmiError extends Error {
  /**
   * @param {string} code stable machine-readable code
   * @param {string} message human-readable message
   * @param {{status?: number | null, requestId?: string | null, details?: ErrorDetail[], cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = new.target.name;
    /** @type {string} */
    this.code = code;
    /** @type {number | null} HTTP status, or null when no response arrived */
    this.status = extra.status ?? null;
    /** @type {string | null} the server's request id (X-Request-ID), when known */
    this.requestId = extra.requestId ?? null;
    /** @type {ErrorDetail[]} per-field problems of a 400/422, else empty */
    this.details = extra.details ?? [];
  }

  /** The envelope's snake_case alias, for code that mirrors the API's field names. */
  get request_id() {
    return this.requestId;
  }

  toJSON() {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      request_id: this.requestId,
      details: this.details,
    };
  }
}

/** The API answered with an error status. */
export class ApiError extends PmiError {}
/** 400 or 422: the request itself is wrong; `details` names the fields. */
export class ValidationError extends ApiError {}
/** 401: not signed in, or the token was refused even after a refresh. */
export class UnauthorizedError extends ApiError {}
/** 403: the caller's role may not do this. */
export class ForbiddenError extends ApiError {}
/** 404: missing, or outside the caller's scope (the API answers both alike). */
export class NotFoundError extends ApiError {}
/** 409: a conflict with the current state (slot taken, illegal transition, VIN taken). */
export class ConflictError extends ApiError {}
/** 429: too many requests; `retryAfterMs` says when to try again, if the server said. */
export class RateLimitedError extends ApiError {
  /** @param {string} code @param {string} message @param {ConstructorParameters<typeof PmiError>[2] & {retryAfterMs?: number | null}} [extra] */
  constructor(code, message, extra = {}) {
    super(code, message, extra);
    /** @type {number | null} */
    this.retryAfterMs = extra.retryAfterMs ?? null;
  }
}
/** 503 (or another 5xx): the service could not do it now. */
export class ServiceUnavailableError extends ApiError {
  /** @param {string} code @param {string} message @param {ConstructorParameters<typeof PmiError>[2] & {retryAfterMs?: number | null}} [extra] */
  constructor(code, message, extra = {}) {
    super(code, message, extra);
    /** @type {number | null} */
    this.retryAfterMs = extra.retryAfterMs ?? null;
  }
}

/** No response: offline, DNS, connection refused or reset, or the request timed out. */
export class NetworkError extends PmiError {}

/**
 * The session is over (refresh token reused, revoked, expired, account deactivated, or
 * never signed in): sign in again. `code` is the server's reason where it gave one.
 */
export class SessionExpiredError extends PmiError {}

/** @type {Record<number, typeof ApiError>} */
const BY_STATUS = {
  400: ValidationError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
  429: RateLimitedError,
  503: ServiceUnavailableError,
};

/**
 * The typed error for an HTTP error response whose body has been parsed (or not).
 * @param {number} status
 * @param {unknown} body parsed JSON body, or null when it was not JSON
 * @param {{requestId?: string | null, statusText?: string, retryAfterMs?: number | null}} [meta]
 * @returns {ApiError}
 */
export function errorFromResponse(status, body, meta = {}) {
  const envelope =
    body && typeof body === "object" && "error" in body && body.error && typeof body.error === "object"
      ? /** @type {{code?: unknown, message?: unknown, request_id?: unknown, details?: unknown}} */ (body.error)
      : null;
  const code = typeof envelope?.code === "string" ? envelope.code : `http_${status}`;
  const message =
    typeof envelope?.message === "string"
      ? envelope.message
      : `The server answered ${status}${meta.statusText ? ` ${meta.statusText}` : ""}.`;
  const requestId =
    typeof envelope?.request_id === "string" ? envelope.request_id : meta.requestId ?? null;
  const details = Array.isArray(envelope?.details) ? /** @type {ErrorDetail[]} */ (envelope.details) : [];
  const retryAfterMs = meta.retryAfterMs ?? null;
  if (status === 429) return new RateLimitedError(code, message, { status, requestId, details, retryAfterMs });
  if (status >= 500) return new ServiceUnavailableError(code, message, { status, requestId, details, retryAfterMs });
  const ErrorClass = BY_STATUS[status] ?? ApiError;
  return new ErrorClass(code, message, { status, requestId, details });
}

/**
 * A one-line description for people: the message, then the request id to quote.
 * @param {unknown} error
 */
export function describeError(error) {
  if (error instanceof PmiError) {
    return error.requestId ? `${error.message} (request id ${error.requestId})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
