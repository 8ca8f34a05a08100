/**
 * The one error class of goma, after gRPC status (Buildbarn) and ConnectError (connect-es).
 *
 * Every failure that crosses a module boundary is a {@link GomaError} carrying a gRPC {@link Code}. The
 * code decides what happens next: infrastructure codes ({@link isInfrastructure}) are retried and then
 * fall back to a local compile; InvalidArgument and FailedPrecondition are shown to the user.
 * Mapping tables to HTTP statuses live at the edges (lib/goma/http-status.ts).
 */

/** gRPC status codes (google/rpc/code.proto). */
export enum Code {
  OK = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** Lowercase snake names used in message prefixes, e.g. `[not_found]`. */
const codeNames: Record<number, string> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v as number, k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()]),
);

/** Returns the snake_case name of a code, e.g. `failed_precondition`. */
export function codeName(code: Code): string {
  return codeNames[code] ?? `code_${code}`;
}

/**
 * An error with a gRPC code. `message` is `[code] rawMessage`; `rawMessage` is the text alone.
 *
 * @example
 * throw new GomaError(Code.NotFound, `Blob "${hash}" is not in the CAS`);
 */
export class GomaError extends Error {
  readonly code: Code;
  readonly rawMessage: string;

  constructor(code: Code, rawMessage: string, options?: { cause?: unknown }) {
    super(`[${codeName(code)}] ${rawMessage}`, options);
    this.name = "GomaError";
    this.code = code;
    this.rawMessage = rawMessage;
  }

  /**
   * Normalizes anything caught into a GomaError. A grpc-js `ServiceError` keeps its code; an OS error
   * with `ECONNREFUSED`/`ECONNRESET`/`ENOENT` on a socket becomes Unavailable; anything else gets
   * `fallbackCode` (Unknown by default).
   */
  static from(reason: unknown, fallbackCode: Code = Code.Unknown): GomaError {
    if (reason instanceof GomaError) return reason;
    if (reason && typeof reason === "object") {
      const r = reason as { code?: unknown; details?: unknown; message?: unknown };
      if (typeof r.code === "number" && r.code >= 0 && r.code <= 16 && "details" in r) {
        return new GomaError(r.code as Code, String(r.details || r.message), { cause: reason });
      }
      if (typeof r.code === "string" && /^(ECONNREFUSED|ECONNRESET|EPIPE|ENOENT|ETIMEDOUT|EHOSTUNREACH)$/.test(r.code)) {
        return new GomaError(Code.Unavailable, String(r.message), { cause: reason });
      }
    }
    const msg = reason instanceof Error ? reason.message : String(reason);
    return new GomaError(fallbackCode, msg, { cause: reason });
  }
}

/** Prepends context to an error and keeps its code: `Failed to upload inputs: <raw message>`. */
export function wrap(reason: unknown, context: string): GomaError {
  const e = GomaError.from(reason);
  return new GomaError(e.code, `${context}: ${e.rawMessage}`, { cause: e });
}

/** True for errors that say the infrastructure failed, not the request: retry, then fall back. */
export function isInfrastructure(reason: unknown): boolean {
  const c = GomaError.from(reason).code;
  return c === Code.Unavailable || c === Code.Internal || c === Code.Unknown || c === Code.DeadlineExceeded ||
    c === Code.ResourceExhausted || c === Code.Aborted;
}
