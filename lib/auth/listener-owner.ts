/**
 * Who listens on a loopback TCP port, from the kernel's socket tables (Linux `/proc/net/tcp` and
 * `/proc/net/tcp6`: one line per socket with its local address, state and owner uid). The proxy sends the
 * per-user local token (lib/auth/local-token.ts) to a loopback goma server only when the process listening
 * on that port is its own user's: while the server is down, another local user could bind the port and
 * collect the token otherwise (the token opens the embedded backend's REAPI port, i.e. runs commands as
 * the server's user). Spec: proc(5), `/proc/net/tcp` (fields `local_address`, `st` 0A = LISTEN, `uid`).
 */
import { readFileSync } from "node:fs";

/** TCP state LISTEN in /proc/net/tcp's `st` column. */
const LISTEN = "0A";

/** Local addresses that accept loopback connections: 127.0.0.0/8, 0.0.0.0, ::1, ::, ::ffff:127.x, ::ffff:0.0.0.0. */
function acceptsLoopback(hexAddr: string): boolean {
  if (hexAddr.length === 8) {
    // IPv4 in host (little-endian) byte order: the last byte printed is the first octet.
    return hexAddr === "00000000" || hexAddr.slice(6, 8) === "7F";
  }
  if (hexAddr.length === 32) {
    const words = [0, 8, 16, 24].map((i) => hexAddr.slice(i, i + 8));
    if (words.every((w) => w === "00000000")) return true; // ::
    if (words.slice(0, 3).every((w) => w === "00000000") && words[3] === "01000000") return true; // ::1
    if (words[0] === "00000000" && words[1] === "00000000" && words[2] === "FFFF0000") return words[3] === "00000000" || words[3]!.slice(6, 8) === "7F";
  }
  return false;
}

/**
 * The owner uids of the sockets listening on `port` for loopback connections, parsed from the text of
 * `/proc/net/tcp` or `/proc/net/tcp6`.
 * @param tables the files' contents (header line first).
 * @returns the uids, de-duplicated (empty: nobody listens).
 */
export function listenerUidsFrom(tables: readonly string[], port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const uids = new Set<number>();
  for (const table of tables) {
    for (const line of table.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[3] !== LISTEN) continue;
      const [addr, p] = f[1]!.split(":");
      if (p !== hexPort || !acceptsLoopback(addr!)) continue;
      const uid = Number(f[7]);
      if (Number.isInteger(uid)) uids.add(uid);
    }
  }
  return [...uids];
}

/**
 * The owner uids of the sockets listening on loopback `port` now, or undefined where the kernel's tables
 * cannot be read (not Linux, /proc not mounted): the caller then cannot tell.
 */
export function loopbackListenerUids(port: number): number[] | undefined {
  const tables: string[] = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      tables.push(readFileSync(f, "utf8"));
    } catch {
      // tcp6 is absent without IPv6
    }
  }
  return tables.length ? listenerUidsFrom(tables, port) : undefined;
}

/**
 * Why the local token must not be sent to loopback `port`, or undefined when it may: every listener there
 * is `uid`'s, or nobody listens (the request then fails to connect and carries nothing), or the tables
 * cannot be read.
 */
export function foreignListener(port: number, uid: number): string | undefined {
  const uids = loopbackListenerUids(port);
  const others = (uids ?? []).filter((u) => u !== uid);
  if (!others.length) return undefined;
  return `the process listening on loopback port ${port} runs as uid ${others.join(", ")}, not as you (uid ${uid}): ` +
    `goma does not send it your local token (is your goma server down and the port taken by someone else?)`;
}
