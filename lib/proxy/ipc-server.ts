/**
 * The proxy's IPC server: the unix socket in GOMA_TMP_DIR that `goma cc` and `goma proxy stop|status|…`
 * talk to. Each connection carries one framed request (lib/ipc/protocol.ts) and gets one answer; this
 * module owns the socket file, the framing and the refusal of malformed requests, and hands each
 * well-formed request to the proxy's handler. Nothing here knows what a compile is.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { chmodSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { encodeFrame, FrameReader, type CcReport, type CcRequest } from "../ipc/protocol.ts";
import { GomaError, Code } from "../util/status.ts";
import { log } from "../util/log.ts";

/**
 * A control request on the socket: `quit` (goma proxy stop), `stats` (goma proxy status: counters,
 * health, ports), `summary` (goma proxy stats: lib/proxy/tasks.ts `StatsSummary`), `zero` (goma proxy
 * stats --zero: resets the counters, answers the summary before the reset), `health` (pings the server
 * now, then answers as `stats`: goma doctor's fresh view), `tasks`, `ping`.
 */
export interface ControlRequest {
  v: 1;
  control: "quit" | "stats" | "tasks" | "ping" | "summary" | "zero" | "health";
}

/** A well-formed request: a compile (`goma cc`), a control request, or goma cc's report of a local run. */
export type IpcRequest = CcRequest | ControlRequest | CcReport;

/**
 * Serves one request and resolves with the answer frame (lib/ipc/protocol.ts `encodeFrame`), or
 * undefined to close the connection without an answer (goma cc's reports). A rejection is logged and
 * answered `local` with the error as the reason (a failing task never takes the daemon down).
 */
export type IpcHandler = (req: IpcRequest) => Promise<Uint8Array | undefined>;

/** A connection without a complete request after this long gets an error answer and is closed (ms). */
export const IPC_IDLE_MS = 60_000;

/**
 * Why a decoded IPC header is not a request the proxy can serve, or "" when it is one: a control
 * request, a report of goma cc (`report` an object: lib/ipc/protocol.ts `CcReport`), or a compile request
 * with `argv` a non-empty string array, `cwd` a string and `env` an object
 * of strings. (Other versions get a `local` answer from the handler, as before.)
 * @example requestProblem({ v: 1, argv: [], cwd: "/", env: {} }) // "argv is not a non-empty array of strings"
 */
export function requestProblem(h: unknown): string {
  if (!h || typeof h !== "object" || Array.isArray(h)) return `the header is ${h === null ? "null" : Array.isArray(h) ? "an array" : typeof h}, not an object`;
  const r = h as Record<string, unknown>;
  if ("control" in r) return typeof r.control === "string" ? "" : "control is not a string";
  if ("report" in r) return r.report && typeof r.report === "object" && !Array.isArray(r.report) ? "" : "report is not an object";
  if (r.v !== 1) return "";
  if (!Array.isArray(r.argv) || r.argv.length === 0 || !r.argv.every((a) => typeof a === "string")) return "argv is not a non-empty array of strings";
  if (typeof r.cwd !== "string") return "cwd is not a string";
  if (!r.env || typeof r.env !== "object" || Array.isArray(r.env) || !Object.values(r.env).every((v) => typeof v === "string")) {
    return "env is not an object of strings";
  }
  return "";
}

/** True when something answers on the unix socket `path`. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Makes the socket's place ready: GOMA_TMP_DIR created (or tightened to) 0700, the socket's directory
 * created, a stale socket file removed.
 * @throws {GomaError} FailedPrecondition when another proxy answers on `socketPath`.
 */
export async function claimSocket(socketPath: string, tmpDir: string): Promise<void> {
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  chmodSync(tmpDir, 0o700);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (await socketAlive(socketPath)) throw new GomaError(Code.FailedPrecondition, `another goma proxy is running on ${socketPath}`);
  try {
    unlinkSync(socketPath);
  } catch {
    // no stale socket
  }
}

/** Removes the socket file if it is still a socket (after the server closed). */
export function removeSocket(socketPath: string): void {
  try {
    if (statSync(socketPath).isSocket()) unlinkSync(socketPath);
  } catch {
    // already gone
  }
}

/**
 * Listens on `socketPath` (then made 0600) and serves one request per connection with `handle`.
 * Anything that is not a complete, well-formed request within `idleMs` gets a one-line error answer
 * (`{ kind: "error", reason: "malformed request: …" }`) and the connection is closed: never a hang,
 * never an exception in the daemon.
 * @param idleMs how long a connection may stay without a complete request (default {@link IPC_IDLE_MS}).
 * @returns the listening server (close it to stop accepting).
 */
export async function listenIpc(socketPath: string, handle: IpcHandler, idleMs = IPC_IDLE_MS): Promise<Server> {
  const ipc: Server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
    const reader = new FrameReader<unknown>(() => 0);
    let answered = false;
    let received = 0;
    const refuse = (why: string) => {
      if (answered) return;
      answered = true;
      sock.end(encodeFrame({ kind: "error", reason: `malformed request: ${why.split("\n")[0]}` }));
    };
    sock.on("error", () => sock.destroy());
    sock.setTimeout(idleMs, () => {
      refuse(`no complete request within ${idleMs / 1000} s (${received} bytes received)`);
      sock.destroy();
    });
    sock.on("end", () => refuse(`the connection ended after ${received} bytes, before a complete request`));
    sock.on("data", (chunk: Buffer) => {
      if (answered) return;
      received += chunk.byteLength;
      let frame;
      try {
        frame = reader.push(new Uint8Array(chunk));
      } catch (e) {
        return refuse((e as Error).message);
      }
      if (!frame) return;
      const problem = requestProblem(frame.header);
      if (problem) return refuse(problem);
      answered = true;
      sock.setTimeout(0);
      handle(frame.header as IpcRequest).then(
        (answer) => {
          if (!sock.destroyed) answer ? sock.end(answer) : sock.end();
        },
        (e) => {
          log.warn(`ipc request failed: ${(e as Error)?.stack ?? String(e)}`);
          if (!sock.destroyed) sock.end(encodeFrame({ kind: "local", reason: `goma proxy internal error: ${(e as Error)?.message ?? String(e)}` }));
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    ipc.once("error", reject);
    ipc.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return ipc;
}
