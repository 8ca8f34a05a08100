/**
 * The embedded backend's action sandbox, like Buildbarn's runner: each action runs under bubblewrap
 * (Debian's `bubblewrap` package) with
 *
 * - the whole system read-only (`--ro-bind / /`), a private `/tmp`, `/dev` and `/proc`;
 * - the backend's data directory hidden (an empty tmpfs over it: no other action's files, no CAS, no
 *   action cache; as root also over the first ancestor other users cannot enter, e.g. `/root`), except the action's own input root, bound writable at the same path (so paths in
 *   `-g` objects and diagnostics are those of an unsandboxed run);
 * - no network (a new network namespace has only a loopback interface that is down), and new pid, ipc,
 *   uts and cgroup namespaces: every process of the action dies with it (`--die-with-parent`; the
 *   command is the namespace's pid 1, `--as-pid-1`, so its CPU time is the server's children's);
 * - `nobody` (uid/gid 65534) when the server runs as root, so an action cannot read root's files,
 *   write what root may write, or signal root's processes; otherwise the server's own user.
 *
 * {@link detectSandbox} tries bwrap once at start with exactly these options; when bwrap is missing or
 * cannot create namespaces here (a container without user namespaces …), actions run unsandboxed and
 * the reason is reported (a startup warning, the status page, `goma doctor`).
 */
import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, chown, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** `"auto"`: bwrap when it works here; `"off"`: never; `"required"`: refuse to start without it. */
export type SandboxMode = "auto" | "off" | "required";

/** The user actions run as in the sandbox when the server is root. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/** What {@link detectSandbox} found. */
export interface Sandbox {
  /** `"bwrap"` when actions are sandboxed, `"none"` when not. */
  kind: "bwrap" | "none";
  /** The bwrap binary used. */
  bwrap?: string;
  /** Directories replaced by an empty tmpfs, in mount order (the backend's data directory last). */
  hide?: string[];
  /** uid/gid actions run as (set when the server is root), else undefined (the server's own). */
  user?: { uid: number; gid: number };
  /** One line for logs, the status page and doctor: what is in use, or why there is no sandbox. */
  describe: string;
}

/** Where bubblewrap and setpriv are looked for. */
const BWRAP_PATHS = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];
const SETPRIV = "/usr/bin/setpriv";

/** What one sandboxed run needs: the mounts, the writable root, the directory to start in, the command. */
export interface BwrapRun {
  hide: string[];
  actionRoot: string;
  cwd: string;
  program: string;
  args: string[];
  /** Drop to this user inside (the server is root): bwrap runs as root, `setpriv` switches. */
  user?: { uid: number; gid: number };
}

/**
 * The bwrap argument list for one run. As root, bwrap sets up the namespaces with root's privileges
 * (no user namespace, so the uid inside is the real one) and `setpriv` then becomes `user` with no
 * capabilities; bwrap's no_new_privs keeps setuid programs from raising them again. As another user,
 * bwrap makes a user namespace and the action keeps that user.
 */
export function bwrapArgs(o: BwrapRun): string[] {
  const mounts = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];
  // Directories bwrap makes inside a tmpfs would be 0700 root: make them 0755 so the user can pass.
  let top = "/tmp";
  const dirsTo = (target: string) => {
    if (target !== top && target.startsWith(`${top}/`)) {
      const rest = target.slice(top.length + 1).split("/").slice(0, -1);
      for (let i = 1; i <= rest.length; i++) mounts.push("--perms", "0755", "--dir", `${top}/${rest.slice(0, i).join("/")}`);
    }
  };
  for (const h of o.hide) {
    dirsTo(h);
    mounts.push("--perms", "0755", "--tmpfs", h);
    top = h;
  }
  dirsTo(o.actionRoot);
  mounts.push("--bind", o.actionRoot, o.actionRoot);
  const ns = o.user
    ? ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    : ["--unshare-all"];
  const cmd = o.user
    ? [SETPRIV, `--reuid=${o.user.uid}`, `--regid=${o.user.gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", o.program, ...o.args]
    : [o.program, ...o.args];
  // --as-pid-1: the command itself is pid 1 of the new pid namespace, a child that bwrap waits for. With
  // bwrap's own init in between, bwrap exits without reaping that init, so the action's CPU time never
  // reaches the server's rusage (getrusage RUSAGE_CHILDREN, /proc/<pid>/stat cutime) and `goma bench`
  // counted none of the embedded backend's compiles. When pid 1 exits, the kernel kills whatever the
  // action left behind in its namespace.
  return [...mounts, ...ns, "--as-pid-1", "--die-with-parent", "--new-session", "--chdir", o.cwd, "--", ...cmd];
}

/**
 * The tmpfs mounts that hide `dataDir`: `dataDir` itself, preceded (when the server is root) by its
 * topmost ancestor that other users may not traverse (e.g. `/root`), which would otherwise stop the
 * sandbox user from reaching the action directory; under `/tmp` (already a private tmpfs) nothing more.
 */
export async function hiddenDirs(dataDir: string, root: boolean): Promise<string[]> {
  if (!root || dataDir === "/tmp" || dataDir.startsWith("/tmp/")) return [dataDir];
  const parts = dataDir.split("/").filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const a = "/" + parts.slice(0, i).join("/");
    if (((await stat(a)).mode & 0o001) === 0) return [a, dataDir];
  }
  return [dataDir];
}

/** The directories every sandboxed action sees replaced by its own empty one, whatever `hide` says. */
export const SANDBOX_PRIVATE_DIRS: readonly string[] = ["/tmp"];

/**
 * The directory of the sandbox that hides `p` (absolute): `/tmp` (private to each action), or the
 * entry of `hide` (Sandbox.hide: the backend's data directory, as root also e.g. `/root`) it lies in;
 * undefined when the sandbox shows `p` as it is. A program there — a toolchain unpacked under /tmp —
 * does not exist for a sandboxed action.
 */
export function hiddenBySandbox(p: string, hide: readonly string[] = []): string | undefined {
  for (const d of [...SANDBOX_PRIVATE_DIRS, ...hide]) {
    const dir = d.replace(/\/+$/, "");
    if (p === dir || p.startsWith(`${dir}/`)) return dir;
  }
  return undefined;
}

/** The fix for a compiler the sandbox hides (doctor's and the refused action's). */
export function hiddenCompilerFix(dir: string): string {
  return `install the toolchain outside ${dir}, or run goma server with --exec-sandbox off on a trusted machine`;
}

function runOnce(file: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: "/usr/bin:/bin" } });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => void (stderr += b.toString("utf8")));
    child.once("error", (e) => resolve({ code: -1, stderr: e.message }));
    child.once("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/**
 * Finds out whether actions can be sandboxed here: runs `/bin/true` under bwrap with the options of
 * {@link bwrapArgs} (as `nobody` when root), with `probeDir` (an empty directory under `dataDir`) as
 * the action root.
 */
export async function detectSandbox(mode: SandboxMode, dataDir: string, probeDir: string): Promise<Sandbox> {
  if (mode === "off") return { kind: "none", describe: "none: turned off (--exec-sandbox off)" };
  let bwrap: string | undefined;
  for (const p of BWRAP_PATHS) {
    try {
      await access(p, fsConstants.X_OK);
      bwrap = p;
      break;
    } catch {
      // next
    }
  }
  const unsandboxed = "actions run unsandboxed, as the server's user, with its network";
  if (!bwrap) return { kind: "none", describe: `none: bubblewrap is not installed (apt-get install bubblewrap); ${unsandboxed}` };
  const root = process.getuid?.() === 0;
  const user = root ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : undefined;
  if (user) await chown(probeDir, user.uid, user.gid);
  const hide = await hiddenDirs(dataDir, root);
  const r = await runOnce(bwrap, bwrapArgs({ hide, actionRoot: probeDir, cwd: probeDir, program: "/bin/true", args: [], user }));
  if (r.code !== 0) {
    return { kind: "none", describe: `none: ${bwrap} does not work here (${r.stderr.trim().split("\n")[0] || `exit ${r.code}`}); ${unsandboxed}` };
  }
  return {
    kind: "bwrap", bwrap, hide, user,
    describe: `bubblewrap (${bwrap}): read-only system, writable action directory only, no network, ${user ? `user nobody (${user.uid})` : "the server's user"}`,
  };
}

/**
 * Gives the sandbox user the directories of an action root (files are left alone: inputs are
 * read-only hard links into the CAS, readable by all).
 */
export async function chownDirectories(dir: string, user: { uid: number; gid: number }): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await chownDirectories(join(dir, e.name), user);
  }
}
