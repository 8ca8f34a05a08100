/**
 * Glue between async service logic and grpc-js handlers, so that the embedded server never crashes on a
 * bad request: every handler runs inside a wrapper that catches anything thrown and answers a gRPC status
 * (GomaError code and message kept; anything else is INTERNAL). Also the request validators every
 * service shares (instance name, digests, digest function) and rich status details
 * (`grpc-status-details-bin`, e.g. a PreconditionFailure).
 *
 * Spec: gRPC status semantics for REAPI (remote_execution.proto comments); google.rpc.Status details.
 */
import * as grpc from "@grpc/grpc-js";
import { type Digest, toDigest } from "../digest/digest.ts";
import { build, google } from "../reapi/proto.ts";
import { validateInstanceName } from "../reapi/resource-name.ts";
import { Code, GomaError } from "../util/status.ts";
import R = build.bazel.remote.execution.v2;

/** A GomaError that also carries `google.rpc.Status.details` (sent as `grpc-status-details-bin`). */
export class DetailedError extends GomaError {
  /** Packed detail messages, e.g. a `google.rpc.PreconditionFailure`. */
  readonly statusDetails: google.protobuf.IAny[];

  constructor(code: Code, message: string, statusDetails: google.protobuf.IAny[]) {
    super(code, message);
    this.statusDetails = statusDetails;
  }
}

/** Normalizes a thrown value on the server side: GomaErrors and gRPC errors keep their code, else INTERNAL. */
export function serverError(err: unknown): GomaError {
  if (err instanceof GomaError) return err;
  const r = err as { code?: unknown; details?: unknown } | null;
  if (r && typeof r.code === "number" && typeof r.details === "string") return GomaError.from(err);
  return new GomaError(Code.Internal, err instanceof Error ? err.message : String(err), { cause: err });
}

/** A `google.rpc.Status` for an error (used inside ExecuteResponse and batch responses). */
export function rpcStatus(err: unknown): google.rpc.IStatus {
  const e = serverError(err);
  return { code: e.code, message: e.rawMessage, details: e instanceof DetailedError ? e.statusDetails : [] };
}

/** The grpc-js status object for an error, with rich details in the trailers when present. */
export function grpcStatus(err: unknown): Partial<grpc.StatusObject> {
  const e = serverError(err);
  const metadata = new grpc.Metadata();
  if (e instanceof DetailedError && e.statusDetails.length > 0) {
    const bytes = google.rpc.Status.encode(rpcStatus(e)).finish();
    metadata.set("grpc-status-details-bin", Buffer.from(bytes));
  }
  return { code: e.code as number as grpc.status, details: e.rawMessage, metadata };
}

/** Wraps an async unary implementation; throws become statuses. */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>):
  grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => callback(grpcStatus(err) as grpc.ServerErrorResponse),
    );
  };
}

/**
 * Wraps an async server-streaming implementation. `fn` writes to the call; the stream is ended when `fn`
 * resolves, or fails with a status when it throws.
 */
export function serverStream<Req, Res>(fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>):
  grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    fn(call.request, call).then(
      () => { if (!call.writableEnded) call.end(); },
      (err) => { if (!call.writableEnded) call.emit("error", grpcStatus(err)); },
    );
  };
}

/**
 * Validates an instance name from a request.
 * @throws {GomaError} InvalidArgument.
 */
export function requireInstanceName(name: string | null | undefined): string {
  validateInstanceName(name ?? "");
  return name ?? "";
}

/**
 * Validates a digest field of a request.
 * @throws {GomaError} InvalidArgument naming the field.
 */
export function requireDigest(d: R.IDigest | null | undefined, field: string): Digest {
  if (!d) throw new GomaError(Code.InvalidArgument, `No ${field} provided`);
  try {
    return toDigest(d);
  } catch (e) {
    throw new GomaError(Code.InvalidArgument, `Invalid ${field}: ${(e as Error).message}`);
  }
}

/**
 * Accepts only SHA-256 (or unset, meaning "infer from the hash length") as a request's digest function.
 * @throws {GomaError} InvalidArgument for any other function.
 */
export function requireSha256(fn: number | null | undefined): void {
  if (fn && fn !== R.DigestFunction.Value.SHA256) {
    throw new GomaError(Code.InvalidArgument, `Unsupported digest function ${fn}: this server only supports SHA256`);
  }
}
