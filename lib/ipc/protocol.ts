/**
 * The cc ⇄ proxy IPC protocol: length-prefixed frames over the proxy's unix socket.
 *
 * Goma's gomacc sends a protobuf ExecReq over HTTP on the socket; ours sends a small JSON request
 * instead so that the `cc` path needs no protobuf runtime (reference/toolchain.md §4: every import on
 * that path costs milliseconds). This module imports nothing and is shared by both sides.
 *
 * Frames: `u32le headerLength`, `headerLength` bytes of UTF-8 JSON, then the raw payload bytes whose
 * lengths the header declares (`stdoutLength` + `stderrLength` for a {@link CcResponse}; none for
 * a request).
 */

/** What `goma cc` sends: the compile as the build system ran it. */
export interface CcRequest {
  /** Protocol version; the proxy answers `local` to versions it does not know. */
  v: 1;
  /** The compiler and its arguments, exactly as given after `goma cc` (argv[0] is the compiler). */
  argv: string[];
  /** Absolute working directory of the compile. */
  cwd: string;
  /** The full environment of the compile (PATH finds the compiler; CPATH and friends change inputs). */
  env: Record<string, string>;
  /** The requester's umask (octal number), for output file modes. */
  umask: number;
  /** Pid of the `goma cc` process, for the dashboard. */
  pid: number;
}

/**
 * What the proxy answers.
 * - `done`: the compile ran (remotely or from a cache); the proxy already wrote the output files;
 *   `stdoutLength` + `stderrLength` payload bytes follow the header.
 * - `local`: `goma cc` must run the compiler itself; `reason` says why (recorded by the proxy); `id` is
 *   the proxy's task, for the {@link CcReport} `goma cc` sends after the local run.
 * - `error`: the request was malformed (not a complete frame, not JSON, wrong field types); `reason`
 *   is one line. `goma cc` runs the compiler itself, as for `local`.
 */
export type CcResponse =
  | { kind: "done"; exitCode: number; stdoutLength: number; stderrLength: number; messages?: string[] }
  | { kind: "local"; reason: string; id?: number }
  | { kind: "error"; reason: string };

/**
 * What `goma cc` sends, fire and forget, after it ran the compiler itself: the proxy counts it and
 * answers nothing (lib/proxy/tasks.ts `TaskLog.report`).
 * - `outcome: "local"` with `id`: the proxy answered `local` for task `id`; `ms` is the local run's time.
 * - `outcome: "direct"`: a step goma cc ran at once without asking (link, `-E`, stdin, `GOMA_DISABLED`).
 * - `outcome: "unreachable"`: no proxy answered the compile (sent to a proxy only from the spool file).
 */
export interface CcReport {
  v: 1;
  report: {
    outcome: "local" | "direct" | "unreachable";
    id?: number;
    argv?: string[];
    cwd?: string;
    pid?: number;
    reason?: string;
    /** Duration of the local run, ms. */
    ms: number;
    exitCode: number;
    /** When the run started, ms since the epoch. */
    at: number;
  };
}

/** Encodes a header (and optional payload parts) into one frame. */
export function encodeFrame(header: unknown, ...payload: Uint8Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  let total = 4 + json.byteLength;
  for (const p of payload) total += p.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  let off = 4 + json.byteLength;
  for (const p of payload) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Largest header accepted (a request carries the whole environment and argv). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * Incremental frame reader: feed it socket chunks; it returns the header and payload once complete.
 * `payloadLength(header)` says how many payload bytes follow a given header.
 * @throws {RangeError} when the declared header length exceeds {@link MAX_HEADER_BYTES};
 * {@link SyntaxError} when the header is not JSON.
 */
export class FrameReader<H> {
  private chunks: Uint8Array[] = [];
  private length = 0;
  constructor(private readonly payloadLength: (header: H) => number) {}

  /** Adds a chunk; returns the decoded frame when all its bytes have arrived, else undefined. */
  push(chunk: Uint8Array): { header: H; payload: Uint8Array } | undefined {
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
    if (this.length < 4) return undefined;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks, this.length);
    this.chunks = [buf];
    const hlen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
    if (hlen > MAX_HEADER_BYTES) throw new RangeError(`IPC header too large: ${hlen} bytes`);
    if (buf.byteLength < 4 + hlen) return undefined;
    let header: H;
    try {
      header = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + hlen))) as H;
    } catch (e) {
      throw new SyntaxError(`IPC header is not JSON: ${(e as Error).message}`);
    }
    const plen = this.payloadLength(header);
    if (buf.byteLength < 4 + hlen + plen) return undefined;
    return { header, payload: buf.subarray(4 + hlen, 4 + hlen + plen) };
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
