/**
 * Who listens on a local TCP port (Linux): `/proc/net/tcp{,6}` gives the socket inode of a LISTEN entry,
 * `/proc/<pid>/fd/*` the process holding it. Processes of other users may be invisible; then only the
 * fact that the port is taken is known.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/** A listening process: pid and command line (may be unknown). */
export interface PortOwner {
  pid?: number;
  command?: string;
}

/** The inodes of sockets listening on `port`. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1]!.split(":")[1] ?? "", 16);
      if (localPort === port && cols[3] === "0A") inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** The process listening on `port`, or undefined when nothing is (or it cannot be seen). */
export function portOwner(port: number): PortOwner | undefined {
  const inodes = listeningInodes(port);
  if (!inodes.size) return undefined;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        let command = "";
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        } catch {
          // gone
        }
        return { pid: Number(pid), command: command.slice(0, 200) };
      }
    }
  }
  return {};
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
