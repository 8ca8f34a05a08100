/**
 * An in-process transport for gRPC services: the handler maps a grpc-js server would serve
 * (`casHandlers`, `executionHandlers` …), called directly by an {@link RpcCaller} in the same process
 * instead of over a loopback HTTP/2 channel. Every request and response still goes through the method
 * definition's serializers and deserializers, so handlers see exactly the messages the gRPC path
 * delivers, and the caller sees exactly its statuses (code, details, trailing metadata): a handler's
 * error is turned into the same grpc-js client error (`code`, `details`, `metadata`, message
 * `"<code> <NAME>: <details>"`). Only what the handlers use of grpc-js's call objects is emulated:
 * unary (`request`, `metadata`, `cancelled` + callback), server-streaming (`write` with back-pressure and
 * `drain`, `end`, `emit("error", status)`, `cancelled` and the `cancelled` event), client-streaming
 * (a readable of requests, `cancelled`). The calls are checked by the same `authorize` as the server's
 * interceptor (UNAUTHENTICATED `auth failed: <reason>` before any handler runs).
 *
 * Spec: gRPC status semantics (grpc-js call objects: ServerUnaryCall, ServerWritableStream,
 * ServerReadableStream; ClientReadableStream, ClientWritableStream).
 */
import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";

/** A service implementation as grpc-js's `Server.addService` takes it. */
type Impl = grpc.UntypedServiceImplementation;

interface Registered {
  def: grpc.MethodDefinition<unknown, unknown>;
  handler: (...args: never[]) => void;
}

/** A status as a handler reports it (callback error or `emit("error", …)`). */
type StatusLike = Partial<grpc.StatusObject> & { message?: string };

/** The grpc-js client error for a status (as grpc-js's callErrorFromStatus builds it). */
function callError(s: StatusLike): grpc.ServiceError {
  const code = typeof s.code === "number" ? s.code : grpc.status.UNKNOWN;
  const details = s.details ?? s.message ?? "";
  const err = new Error(`${code} ${grpc.status[code]}: ${details}`) as grpc.ServiceError;
  return Object.assign(err, { code, details, metadata: s.metadata ?? new grpc.Metadata() });
}

/** The status of a non-status value a handler threw or passed (grpc-js answers UNKNOWN with its message). */
function statusOf(err: unknown): StatusLike {
  const r = err as StatusLike | null;
  if (r && typeof r === "object" && typeof r.code === "number") return r;
  return { code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/**
 * The `(err, res)` callback a unary or client-streaming handler answers through: `finish` gets the
 * handler's status, or the response passed through the method's serializers (INTERNAL when that fails),
 * unless the call is already `done` (cancelled, deadline).
 */
function replyTo(def: grpc.MethodDefinition<unknown, unknown>, done: () => boolean,
  finish: (err: StatusLike | null, res?: unknown) => void): (err: unknown, res?: unknown) => void {
  return (err, res) => {
    if (done()) return;
    if (err) return finish(statusOf(err));
    try {
      finish(null, def.responseDeserialize(def.responseSerialize(res)));
    } catch (e) {
      finish({ code: grpc.status.INTERNAL, details: `Failed to serialize the response: ${(e as Error).message}` });
    }
  };
}

/** Services registered for in-process calls, with the auth check of the gRPC port. */
export class InProcessServer {
  readonly #methods = new Map<string, Registered>();
  readonly #authorize?: (authorization: string | undefined) => string | undefined;
  /** Cancels the calls in flight (at shutdown). */
  readonly #active = new Set<(s: StatusLike) => void>();
  #closed = false;
  #served = 0;

  /** `authorize`: as the embedded backend's interceptor (undefined: every call is let in). */
  constructor(opts: { authorize?: (authorization: string | undefined) => string | undefined } = {}) {
    this.#authorize = opts.authorize;
  }

  /** Registers a service's handlers, as `grpc.Server.addService`. */
  addService(service: grpc.ServiceDefinition, impl: Impl): void {
    for (const [name, def] of Object.entries(service)) {
      const handler = impl[name] ?? impl[def.originalName ?? ""];
      if (handler) this.#methods.set(def.path, { def, handler: handler as Registered["handler"] });
    }
  }

  /** Calls in flight (started and not yet answered or cancelled). */
  get activeCalls(): number {
    return this.#active.size;
  }

  /** Calls that reached a handler since start (for tests and the status page). */
  get callsServed(): number {
    return this.#served;
  }

  /** Refuses new calls and ends the ones in flight with UNAVAILABLE (as a server shutting down). */
  shutdown(): void {
    this.#closed = true;
    for (const end of [...this.#active]) end({ code: grpc.status.UNAVAILABLE, details: "the embedded backend is shutting down" });
  }

  /** The handler of `path`, or the status that refuses the call before any handler runs. */
  #admit(path: string, kind: string, metadata: grpc.Metadata): Registered | StatusLike {
    if (this.#closed) return { code: grpc.status.UNAVAILABLE, details: "the embedded backend is shutting down" };
    const m = this.#methods.get(path);
    if (!m) return { code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` };
    const want = kind === "unary" ? [false, false] : kind === "serverStream" ? [false, true] : [true, false];
    if (m.def.requestStream !== want[0] || m.def.responseStream !== want[1]) {
      return { code: grpc.status.INTERNAL, details: `${path} is not a ${kind} method` };
    }
    if (this.#authorize) {
      const v = metadata.get("authorization")[0];
      let refusal: string | undefined;
      try {
        refusal = this.#authorize(typeof v === "string" ? v : undefined);
      } catch (e) {
        refusal = `auth check failed: ${(e as Error).message}`;
      }
      if (refusal !== undefined) return { code: grpc.status.UNAUTHENTICATED, details: `auth failed: ${refusal}` };
    }
    this.#served++;
    return m;
  }

  /**
   * One unary call: `callback` gets the deserialized response or a grpc-js client error, once. The
   * returned function cancels the call (CANCELLED "Cancelled on client"; the handler sees `cancelled`).
   */
  unary(path: string, req: unknown, metadata: grpc.Metadata, deadline: number | undefined,
    callback: (err: grpc.ServiceError | null, res?: unknown) => void): () => void {
    const m = this.#admit(path, "unary", metadata);
    let done = false;
    const call = Object.assign(new EventEmitter(), { cancelled: false, metadata, request: undefined as unknown, getPeer: () => "in-process", getDeadline: () => deadline ?? Infinity });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (err: StatusLike | null, res?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      this.#active.delete(end);
      if (err) {
        if (!call.cancelled) { call.cancelled = true; call.emit("cancelled"); }
        callback(callError(err));
      } else callback(null, res);
    };
    const end = (s: StatusLike) => finish(s);
    if (!("handler" in m)) {
      queueMicrotask(() => finish(m));
      return () => {};
    }
    this.#active.add(end);
    if (deadline !== undefined) {
      timer = setTimeout(() => finish({ code: grpc.status.DEADLINE_EXCEEDED, details: "Deadline exceeded" }), Math.max(0, deadline - Date.now()));
    }
    try {
      call.request = m.def.requestDeserialize(m.def.requestSerialize(req));
      (m.handler as unknown as grpc.handleUnaryCall<unknown, unknown>)(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, replyTo(m.def, () => done, finish));
    } catch (e) {
      finish({ code: grpc.status.INTERNAL, details: `Failed to parse the request: ${(e as Error).message}` });
    }
    return () => finish({ code: grpc.status.CANCELLED, details: "Cancelled on client" });
  }

  /**
   * Starts a server-streaming call; returns what grpc-js's makeServerStreamRequest returns: a readable of
   * responses with `cancel()`, ending with `error` (a non-OK status, after the data) and `status`.
   */
  serverStream(path: string, req: unknown, metadata: grpc.Metadata): grpc.ClientReadableStream<unknown> {
    const m = this.#admit(path, "serverStream", metadata);
    let done = false;
    let wantDrain = false;
    const server = new ServerWritable(metadata, () => {
      if (!server.cancelled) finish({ code: grpc.status.OK, details: "OK" });
    }, (s) => finish(statusOf(s)), (msg) => {
      if (done || !("handler" in m)) return false;
      let out: unknown;
      try {
        out = m.def.responseDeserialize(m.def.responseSerialize(msg));
      } catch (e) {
        finish({ code: grpc.status.INTERNAL, details: `Failed to serialize a response: ${(e as Error).message}` });
        return false;
      }
      const ok = client.push(out);
      if (!ok) wantDrain = true;
      return ok;
    });
    const client = Object.assign(new Readable({
      objectMode: true,
      read() {
        if (wantDrain) { wantDrain = false; server.emit("drain"); }
      },
    }), {
      cancel: () => finish({ code: grpc.status.CANCELLED, details: "Cancelled on client" }),
      getPeer: () => "in-process",
    }) as unknown as grpc.ClientReadableStream<unknown>;
    const finish = (s: StatusLike) => {
      if (done) return;
      done = true;
      this.#active.delete(finish);
      if (s.code !== grpc.status.OK && !server.cancelled) {
        server.cancelled = true;
        server.emit("cancelled");
      }
      server.writableEnded = true;
      const status = { code: s.code ?? grpc.status.UNKNOWN, details: s.details ?? "", metadata: s.metadata ?? new grpc.Metadata() };
      // As grpc-js: end of data, then the error (read after the buffered messages), then the status.
      queueMicrotask(() => {
        client.push(null);
        // A reader that destroyed the stream is gone: nobody to tell (and no 'error' without a listener).
        if (status.code !== grpc.status.OK && !client.destroyed) client.emit("error", callError(status));
        client.emit("status", status);
      });
    };
    // A reader that stops (destroys the stream) without cancel(): the call is cancelled, so a handler
    // waiting for `drain` is not left waiting.
    client.once("close", () => finish({ code: grpc.status.CANCELLED, details: "Cancelled on client" }));
    if (!("handler" in m)) {
      finish(m);
      return client;
    }
    this.#active.add(finish);
    try {
      server.request = m.def.requestDeserialize(m.def.requestSerialize(req));
    } catch (e) {
      finish({ code: grpc.status.INTERNAL, details: `Failed to parse the request: ${(e as Error).message}` });
      return client;
    }
    try {
      (m.handler as unknown as grpc.handleServerStreamingCall<unknown, unknown>)(server as unknown as grpc.ServerWritableStream<unknown, unknown>);
    } catch (e) {
      finish(statusOf(e));
    }
    return client;
  }

  /**
   * Starts a client-streaming call; returns what grpc-js's makeClientStreamRequest returns: a writable
   * of requests with `cancel()`. `callback` gets the response or the client error, once.
   */
  clientStream(path: string, metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, res?: unknown) => void): grpc.ClientWritableStream<unknown> {
    const m = this.#admit(path, "clientStream", metadata);
    let done = false;
    let pending: (() => void) | undefined;
    const server = Object.assign(new Readable({
      objectMode: true,
      read() {
        const p = pending;
        pending = undefined;
        p?.();
      },
    }), { cancelled: false, metadata, getPeer: () => "in-process", getDeadline: () => Infinity });
    server.on("error", () => {}); // a cancelled call's readable is destroyed; the handler sees it in its loop
    const finish = (err: StatusLike | null, res?: unknown) => {
      if (done) return;
      done = true;
      this.#active.delete(end);
      const p = pending;
      pending = undefined;
      if (err) {
        if (!server.cancelled) {
          server.cancelled = true;
          server.emit("cancelled");
          server.destroy(callError({ code: grpc.status.CANCELLED, details: "Cancelled" }));
        }
        p?.();
        queueMicrotask(() => callback(callError(err)));
      } else {
        p?.();
        queueMicrotask(() => callback(null, res));
      }
    };
    const end = (s: StatusLike) => finish(s);
    const client = Object.assign(new Writable({
      objectMode: true,
      write(chunk, _enc, cb) {
        if (done || !("handler" in m)) return cb();
        let msg: unknown;
        try {
          msg = m.def.requestDeserialize(m.def.requestSerialize(chunk));
        } catch (e) {
          finish({ code: grpc.status.INTERNAL, details: `Failed to parse a request: ${(e as Error).message}` });
          return cb();
        }
        if (server.push(msg)) cb();
        else pending = () => cb();
      },
      final(cb) {
        if (!done) server.push(null);
        cb();
      },
    }), {
      cancel: () => finish({ code: grpc.status.CANCELLED, details: "Cancelled on client" }),
      getPeer: () => "in-process",
    }) as unknown as grpc.ClientWritableStream<unknown>;
    if (!("handler" in m)) {
      finish(m);
      return client;
    }
    this.#active.add(end);
    try {
      (m.handler as unknown as grpc.handleClientStreamingCall<unknown, unknown>)(server as unknown as grpc.ServerReadableStream<unknown, unknown>, replyTo(m.def, () => done, finish));
    } catch (e) {
      finish(statusOf(e));
    }
    return client;
  }
}

/** The server side of an in-process server-streaming call (what the handlers use of grpc-js's). */
class ServerWritable extends EventEmitter {
  request: unknown;
  cancelled = false;
  writableEnded = false;
  readonly metadata: grpc.Metadata;
  readonly #onEnd: () => void;
  readonly #onError: (s: unknown) => void;
  readonly #onWrite: (msg: unknown) => boolean;

  constructor(metadata: grpc.Metadata, onEnd: () => void, onError: (s: unknown) => void, onWrite: (msg: unknown) => boolean) {
    super();
    this.metadata = metadata;
    this.#onEnd = onEnd;
    this.#onError = onError;
    this.#onWrite = onWrite;
  }

  /** Sends one response; false asks the handler to wait for `drain`. */
  write(msg: unknown): boolean {
    const ok = !this.writableEnded && !this.cancelled && this.#onWrite(msg);
    // A write refused because the call is over: a handler waiting for `drain` is woken, never left hanging.
    if (!ok && (this.writableEnded || this.cancelled)) setImmediate(() => super.emit("drain"));
    return ok;
  }

  /** Ends the call with OK. */
  end(): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.#onEnd();
  }

  /** `emit("error", status)` ends the call with that status, as on a grpc-js server stream. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error") {
      if (!this.writableEnded) {
        this.writableEnded = true;
        this.#onError(args[0]);
      }
      return true;
    }
    return super.emit(event, ...args);
  }

  getPeer(): string {
    return "in-process";
  }

  getDeadline(): number {
    return Infinity;
  }
}
