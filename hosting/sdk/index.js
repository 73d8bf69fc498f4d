// @ts-check
/**
 * PMI client SDK: `createClient(options)` and everything a caller may need to name.
 * Core modules use no DOM; browser.js adds the browser's storage, network and locks.
 * docs/sdk.md documents the calls, the storage adapter, the offline queue and the errors.
 */

export { createClient, isVinClaimPending, Pmi } from "./api.js";
export { PmiClient, queryString } from "./client.js";
export {
  ApiError,
  ConflictError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  PmiError,
  RateLimitedError,
  ServiceUnavailableError,
  SessionExpiredError,
  UnauthorizedError,
  ValidationError,
  describeError,
  errorFromResponse,
} from "./errors.js";
export { OfflineQueue } from "./queue.js";
export { DEFAULT_RETRY, backoffDelay, parseRetryAfter } from "./retry.js";
export { Emitter, alwaysOnline, manualNetwork, randomId, systemClock } from "./runtime.js";
export { asyncStorageAdapter, memoryStorage, webStorageAdapter } from "./storage.js";
