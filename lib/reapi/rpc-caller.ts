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
import type { InProcessServer } from "./in-process-server.ts";
import { secureChannel, type TlsMaterial } from "./tls-credentials.ts";

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
  /**
   * PEM material for TLS; a missing CA means the system roots. A function is asked before every call
   * and may return a new object when the files behind it changed: calls from then on use a new channel
   * with it, and the old channel is closed once its calls are done (credential rotation).
   */
  tls?: TlsMaterial | (() => TlsMaterial);
  /** Called per call; a defined value adds `authorization: Bearer <token>`. */
  bearerToken?: () => string | undefined;
  /** Serialized `RequestMetadata`, sent on every call. */
  requestMetadata: Uint8Array;
  /**
   * Deadline of each unary call in ms (default {@link DEFAULT_UNARY_TIMEOUT_MS}): a backend that hangs
   * fails the call with DEADLINE_EXCEEDED instead of holding the compile until the client gives up.
   */
  unaryTimeoutMs?: number;
  /**
   * Services in this process (goma server's embedded backend, lib/reapi/in-process-server.ts): calls go
   * to their handlers directly, serialized through the method definitions, instead of over a channel to
   * `target`. Metadata, deadlines, cancellation, error conversion and the error listeners are the same.
   */
  inProcess?: InProcessServer;
}

/** Default deadline of a unary REAPI call (FindMissingBlobs, BatchUpdateBlobs, GetActionResult …): 60 s. */
export const DEFAULT_UNARY_TIMEOUT_MS = 60_000;

/**
 * True for targets that never leave the host: `unix:…`, `localhost`, `127.x.x.x`, `[::1]`.
 * @example isLoopbackTarget("127.0.0.1:8980") // true
 */
export function isLoopbackTarget(target: string): boolean {
  if (/^unix(-abstract)?:/.test(target)) return true;
  const host = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, "").replace(/:\d+$/, "");
  return host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "[::1]" || host === "::1";
}

/**
 * Told of every failed backend RPC of this process: the method path (`/build.bazel.remote.execution.v2.
 * ContentAddressableStorage/FindMissingBlobs`) and the gRPC code's name (`Unavailable`). For the
 * server's /metrics (lib/server/metrics.ts). A listener that throws is ignored.
 */
export const rpcErrorListeners = new Set<(method: string, code: string) => void>();

function noteRpcError(method: string, e: GomaError): GomaError {
  for (const l of rpcErrorListeners) {
    try {
      l(method, Code[e.code] ?? String(e.code));
    } catch {
      // a metrics problem must not change an RPC's result
    }
  }
  return e;
}

/** Converts a grpc-js error (or anything) into a GomaError, keeping the code and the server's message. */
export function toGomaError(err: unknown): GomaError {
  return GomaError.from(err, Code.Unknown);
}

/** One grpc-js client and the calls running on it. */
interface Channel {
  client: grpc.Client;
  tls?: TlsMaterial;
  active: number;
  retired: boolean;
}

/** A grpc-js channel with metadata, auth and error conversion applied to every call. */
export class RpcCaller {
  readonly #opts: RpcCallerOptions;
  readonly #insecure: boolean;
  #channel?: Channel;

  constructor(opts: RpcCallerOptions) {
    this.#opts = opts;
    this.#insecure = opts.insecure ?? isLoopbackTarget(opts.target);
    if (!opts.inProcess) this.#channel = this.#open(this.#tlsNow());
  }

  /** The current grpc-js client (one HTTP/2 channel; replaced when the TLS material changes). */
  get client(): grpc.Client {
    return this.#current().client;
  }

  #tlsNow(): TlsMaterial | undefined {
    if (this.#insecure) return undefined;
    const t = this.#opts.tls;
    return typeof t === "function" ? t() : t ?? {};
  }

  #open(tls: TlsMaterial | undefined): Channel {
    if (!tls) return { client: new grpc.Client(this.#opts.target, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS), active: 0, retired: false };
    const { credentials, options } = secureChannel(this.#opts.target, tls);
    return { client: new grpc.Client(this.#opts.target, credentials, { ...CLIENT_CHANNEL_OPTIONS, ...options }), tls, active: 0, retired: false };
  }

  /** The channel for the next call: a new one when the TLS material changed (the old one retires). */
  #current(): Channel {
    this.#channel ??= this.#open(this.#tlsNow());
    if (typeof this.#opts.tls === "function" && !this.#insecure) {
      const tls = this.#tlsNow();
      if (tls !== this.#channel.tls) {
        const old = this.#channel;
        old.retired = true;
        if (old.active === 0) old.client.close();
        this.#channel = this.#open(tls);
      }
    }
    return this.#channel!;
  }

  /** Takes the current channel for one call; `release` must run once when the call ends. */
  #acquire(): { client: grpc.Client; release: () => void } {
    const ch = this.#current();
    ch.active++;
    let released = false;
    return {
      client: ch.client,
      release: () => {
        if (released) return;
        released = true;
        ch.active--;
        if (ch.retired && ch.active === 0) ch.client.close();
      },
    };
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
      const local = this.#opts.inProcess;
      if (local) {
        const deadline = Date.now() + (this.#opts.unaryTimeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS);
        const cancel = local.unary(m.path, req, this.metadata(), deadline, (err, res) => {
          signal?.removeEventListener("abort", cancel);
          if (err) reject(noteRpcError(m.path, toGomaError(err)));
          else resolve(res as Res);
        });
        signal?.addEventListener("abort", cancel, { once: true });
        return;
      }
      const { client, release } = this.#acquire();
      const deadline = Date.now() + (this.#opts.unaryTimeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS);
      const call = client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req,
        this.metadata(), { deadline }, (err, res) => {
          release();
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(noteRpcError(m.path, toGomaError(err)));
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
    const local = this.#opts.inProcess;
    const { client, release } = local ? { client: undefined, release: () => {} } : this.#acquire();
    const stream = client
      ? client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req, this.metadata(), {})
      : local!.serverStream(m.path, req, this.metadata()) as grpc.ClientReadableStream<Res>;
    stream.on("error", (e) => {
      const g = toGomaError(e);
      if (g.code !== Code.Canceled) noteRpcError(m.path, g); // CANCELLED: our own cancel() after the answer
    });
    stream.on("status", release);
    stream.on("close", release);
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
    const local = this.#opts.inProcess;
    const { client, release } = local ? { client: undefined, release: () => {} } : this.#acquire();
    const response = new Promise<Res>((resolve, reject) => {
      const callback = (err: grpc.ServiceError | null, res?: unknown) => {
        release();
        if (err) reject(noteRpcError(m.path, toGomaError(err)));
        else resolve(res as Res);
      };
      stream = client
        ? client.makeClientStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.metadata(), {}, callback)
        : local!.clientStream(m.path, this.metadata(), callback) as grpc.ClientWritableStream<Req>;
    });
    stream.on("error", () => {}); // the status is delivered through `response`
    return { stream, response };
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.#channel?.client.close();
  }
}
