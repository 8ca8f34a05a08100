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
 * Sends one frame to the proxy without waiting for it (fire and forget): resolves true as soon as the
 * whole frame is written into the socket and the connection is closed on our side, false when the
 * socket is absent, refuses, or connect plus write take longer than `timeoutMs` (the connection is then
 * dropped and the caller spools the report). Never rejects, and never waits for the proxy to read: a
 * unix stream socket keeps what was written for the peer after the writer closes (or exits), so the
 * proxy reads the report whenever it gets to it. Used by `goma cc` after a local run; a small frame fits
 * in the socket's buffer, so the write completes at once even when the proxy is busy. `timeoutMs` is 1 s
 * by default: connect and write take well under a millisecond, but a machine running make -j on every
 * core has delayed a short-lived process's first event-loop turns by a few hundred ms.
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
      // Bun's socket writes are unbuffered: write() returns what the kernel took.
      const push = (s: { write(b: Uint8Array): number; end(): void }) => {
        if (pending.byteLength) pending = pending.subarray(s.write(pending));
        if (!pending.byteLength) {
          s.end();
          finish(true);
        }
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
      // The write callback runs once the frame is handed to the kernel.
      s.on("connect", () => s.end(frame, () => finish(true)));
      s.on("error", () => finish(false));
      s.on("close", (hadError) => finish(!hadError));
    }, () => finish(false));
  });
}
