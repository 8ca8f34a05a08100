/**
 * gRPC code → HTTP status for Goma's HTTP protocol, exactly as remoteexec_proxy maps them
 * (reference/goma-protocol.md §1.4). Unauthenticated maps to 500 on purpose: the real client treats
 * 401 as fatal and disables remote compiles for 10–20 minutes; 401 is only for an auth rejection
 * before the handler runs.
 */
import { Code } from "../util/status.ts";

/** The HTTP status for a gRPC code. */
export function httpStatusFromCode(code: Code): number {
  switch (code) {
    case Code.OK:
      return 200;
    case Code.Canceled:
      return 499;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.DeadlineExceeded:
      return 504;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.PermissionDenied:
      return 403;
    case Code.ResourceExhausted:
      return 429;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    default:
      return 500;
  }
}

/** The gRPC code a client should assume for an HTTP status (the inverse, for errors seen by the proxy). */
export function codeFromHttpStatus(status: number): Code {
  if (status >= 200 && status < 300) return Code.OK;
  switch (status) {
    case 400:
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.NotFound;
    case 409:
      return Code.Aborted;
    case 413:
    case 429:
      return Code.ResourceExhausted;
    case 499:
      return Code.Canceled;
    case 501:
      return Code.Unimplemented;
    case 502:
    case 503:
      return Code.Unavailable;
    case 504:
      return Code.DeadlineExceeded;
    default:
      return status >= 500 ? Code.Internal : Code.Unknown;
  }
}
