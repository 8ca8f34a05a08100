/**
 * One request/response exchange with the proxy over its unix socket. `Bun.connect` when running on
 * Bun (node:net costs 6–9 ms to load: reference/toolchain.md §4), node:net otherwise.
 */
import { type CcRequest, type CcResponse, encodeFrame, FrameReader } from "../ipc/protocol.ts";

/** The proxy's answer with its payload split into stdout and stderr. */
export interface CcReply {
  header: CcResponse;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

const payloadLength = (h: CcResponse) => (h.kind === "done" ? h.stdoutLength + h.stderrLength : 0);

/**
 * Sends `req` to the proxy at `socketPath` and waits for its answer.
 * @throws {Error} when the socket is absent, refuses, or closes before a complete answer.
 */
export function exchange(socketPath: string, req: CcRequest): Promise<CcReply> {
  const frame = encodeFrame(req);
  const reader = new FrameReader<CcResponse>(payloadLength);
  const split = (r: { header: CcResponse; payload: Uint8Array }): CcReply => {
    const n = r.header.kind === "done" ? r.header.stdoutLength : 0;
    return { header: r.header, stdout: r.payload.subarray(0, n), stderr: r.payload.subarray(n) };
  };
  const Bun_ = (globalThis as { Bun?: typeof Bun }).Bun;
  if (Bun_) {
    return new Promise<CcReply>((resolve, reject) => {
      let pending = frame;
      let done = false;
      const finish = (f: () => void) => {
        if (!done) {
          done = true;
          f();
        }
      };
      Bun_.connect({
        unix: socketPath,
        socket: {
          open(s) {
            const n = s.write(pending);
            pending = pending.subarray(n);
          },
          drain(s) {
            if (pending.byteLength) pending = pending.subarray(s.write(pending));
          },
          data(s, chunk) {
            try {
              const r = reader.push(chunk);
              if (r) {
                // Settle first: end() may run the close handler synchronously.
                finish(() => resolve(split(r)));
                s.end();
              }
            } catch (e) {
              finish(() => reject(e));
              s.end();
            }
          },
          close() {
            finish(() => reject(new Error("proxy closed the connection before answering")));
          },
          error(_s, e) {
            finish(() => reject(e));
          },
          connectError(_s, e) {
            finish(() => reject(e));
          },
        },
      }).catch((e) => finish(() => reject(e)));
    });
  }
  return import("node:net").then(
    (net) =>
      new Promise<CcReply>((resolve, reject) => {
        const s = net.createConnection(socketPath);
        let done = false;
        s.on("connect", () => s.write(frame));
        s.on("data", (chunk: Uint8Array) => {
          try {
            const r = reader.push(new Uint8Array(chunk));
            if (r && !done) {
              done = true;
              s.end();
              resolve(split(r));
            }
          } catch (e) {
            done = true;
            s.destroy();
            reject(e);
          }
        });
        s.on("error", (e) => !done && ((done = true), reject(e)));
        s.on("close", () => !done && ((done = true), reject(new Error("proxy closed the connection before answering"))));
      }),
  );
}

/**
 * Sends one frame to the proxy without waiting for an answer (fire and forget): resolves true once the
 * frame is written and the connection closed (the proxy closes it after taking the frame, so the report
 * is recorded when this resolves), false when the socket is absent, refuses or `timeoutMs` passes first
 * (the connection is then dropped and the caller spools the report). Never rejects. Used by `goma cc`
 * after a local run, so it is bounded: a stuck proxy costs a build step at most `timeoutMs`. 1 s, not
 * less: on a loaded machine (make -j on every core) the proxy may take a few hundred ms to get to it.
 */
export function notify(socketPath: string, msg: unknown, timeoutMs = 1000): Promise<boolean> {
  const frame = encodeFrame(msg);
  return new Promise<boolean>((resolve) => {
    let done = false;
    let drop = () => {};
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!ok) drop();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const Bun_ = (globalThis as { Bun?: typeof Bun }).Bun;
    if (Bun_) {
      let pending = frame;
      const push = (s: { write(b: Uint8Array): number; end(): void }) => {
        if (pending.byteLength) pending = pending.subarray(s.write(pending));
        if (!pending.byteLength) s.end();
      };
      Bun_.connect({
        unix: socketPath,
        socket: {
          open(s) {
            drop = () => s.terminate();
            push(s);
          },
          drain: push,
          data() {},
          close() {
            finish(pending.byteLength === 0);
          },
          error() {
            finish(false);
          },
          connectError() {
            finish(false);
          },
        },
      }).catch(() => finish(false));
      return;
    }
    import("node:net").then((net) => {
      const s = net.createConnection(socketPath);
      drop = () => s.destroy();
      s.on("connect", () => s.end(frame));
      s.on("error", () => finish(false));
      s.on("close", (hadError) => finish(!hadError));
    }, () => finish(false));
  });
}
