/**
 * One gRPC channel to a REAPI endpoint plus the per-call plumbing every RPC needs: the
 * `requestmetadata-bin` header, an optional bearer token, abort signals, and conversion of every failure
 * into a {@link GomaError} with the gRPC code kept. The REAPI client (client.ts) and its helpers
 * (bytestream-client.ts, execute-client.ts) call through this; nothing here knows REAPI semantics.
 *
 * Spec: reference/reapi-buildbarn.md §1.8 (RequestMetadata header), reference/toolchain.md §2.
 */
import * as grpc from "@grpc/grpc-js";
import { Code, GomaError } from "../util/status.ts";
import { GRPC_OPTIONS, REQUEST_METADATA_KEY } from "./grpc-service.ts";

/**
 * Channel options of the client: the shared message limits, and a reconnect backoff capped at 5 s
 * instead of grpc-js's 120 s, so that calls succeed again within seconds once a backend that was down
 * (a restarted Buildbarn) is back, however long it was away. Retries of failed calls are retry.ts's.
 */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...GRPC_OPTIONS,
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 5000,
};

/** How to reach the endpoint. `target` is `host:port` or `unix:/path`. */
export interface RpcCallerOptions {
  target: string;
  /** Plaintext; defaults to true for loopback and unix targets, false (TLS) otherwise. */
  insecure?: boolean;
  /** PEM material for TLS; a missing CA means the system roots. */
  tls?: { caPem?: Buffer; certPem?: Buffer; keyPem?: Buffer };
  /** Called per call; a defined value adds `authorization: Bearer <token>`. */
  bearerToken?: () => string | undefined;
  /** Serialized `RequestMetadata`, sent on every call. */
  requestMetadata: Uint8Array;
}

/**
 * True for targets that never leave the host: `unix:…`, `localhost`, `127.x.x.x`, `[::1]`.
 * @example isLoopbackTarget("127.0.0.1:8980") // true
 */
export function isLoopbackTarget(target: string): boolean {
  if (/^unix(-abstract)?:/.test(target)) return true;
  const host = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, "").replace(/:\d+$/, "");
  return host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]" || host === "::1";
}

/** Converts a grpc-js error (or anything) into a GomaError, keeping the code and the server's message. */
export function toGomaError(err: unknown): GomaError {
  return GomaError.from(err, Code.Unknown);
}

/** A grpc-js channel with metadata, auth and error conversion applied to every call. */
export class RpcCaller {
  /** The underlying grpc-js client (one HTTP/2 channel). */
  readonly client: grpc.Client;
  readonly #opts: RpcCallerOptions;

  constructor(opts: RpcCallerOptions) {
    this.#opts = opts;
    const insecure = opts.insecure ?? isLoopbackTarget(opts.target);
    const creds = insecure
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(opts.tls?.caPem ?? null, opts.tls?.keyPem ?? null, opts.tls?.certPem ?? null);
    this.client = new grpc.Client(opts.target, creds, CLIENT_CHANNEL_OPTIONS);
  }

  /** Fresh metadata for one call: RequestMetadata and, when a token is available, authorization. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    const rm = this.#opts.requestMetadata;
    md.set(REQUEST_METADATA_KEY, Buffer.from(rm.buffer, rm.byteOffset, rm.byteLength));
    const token = this.#opts.bearerToken?.();
    if (token) md.set("authorization", `Bearer ${token}`);
    return md;
  }

  /**
   * One unary call.
   * @throws {GomaError} with the server's code and message (Canceled when `signal` aborts).
   */
  unary<Req, Res>(m: grpc.MethodDefinition<Req, Res>, req: Req, signal?: AbortSignal): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new GomaError(Code.Canceled, `${m.path} was cancelled`));
      const call = this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req,
        this.metadata(), {}, (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(toGomaError(err));
          else resolve(res as Res);
        });
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Starts a server-streaming call; read it with `for await` and convert errors with {@link toGomaError}.
   * A status arriving after the reader stopped (e.g. CANCELLED after `cancel()`) is ignored instead of
   * becoming an unhandled 'error' event.
   */
  serverStream<Req, Res>(m: grpc.MethodDefinition<Req, Res>, req: Req): grpc.ClientReadableStream<Res> {
    const stream = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req,
      this.metadata(), {});
    stream.on("error", () => {});
    return stream;
  }

  /**
   * Starts a client-streaming call. `response` settles with the single response or a GomaError; write
   * to `stream` (honouring back-pressure) and `end()` it.
   */
  clientStream<Req, Res>(m: grpc.MethodDefinition<Req, Res>): {
    stream: grpc.ClientWritableStream<Req>;
    response: Promise<Res>;
  } {
    let stream!: grpc.ClientWritableStream<Req>;
    const response = new Promise<Res>((resolve, reject) => {
      stream = this.client.makeClientStreamRequest(m.path, m.requestSerialize, m.responseDeserialize,
        this.metadata(), {}, (err, res) => (err ? reject(toGomaError(err)) : resolve(res as Res)));
    });
    stream.on("error", () => {}); // the status is delivered through `response`
    return { stream, response };
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.client.close();
  }
}
