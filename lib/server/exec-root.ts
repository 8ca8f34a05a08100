/**
 * Chooses the input root of a remote compile and rewrites client paths for it.
 *
 * remoteexec_proxy takes the longest common directory of cwd, inputs and outputs and answers
 * BAD_REQUEST when that is `/` — so a plain `/usr/bin/gcc` compile reading `/usr/include` never ran
 * remotely (reference/goma-protocol.md §3.3). goma instead treats files under the *environment
 * prefixes* (by default /usr, /lib*, /bin, /sbin, /etc) as provided by the worker: they stay out of the
 * input root and their digests go into the environment manifest (lib/server/wrapper.ts), so the action
 * key still covers their content.
 */
import { posix as path } from "node:path";

/** Default environment prefixes: what every Linux worker has at the same absolute paths. */
export const DEFAULT_ENV_PREFIXES = ["/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/bin/", "/sbin/", "/etc/"];

/** True when `p` (absolute, normalized) lies at or under directory `dir`. */
export function isUnder(p: string, dir: string): boolean {
  if (dir === "/") return true;
  return p === dir || p.startsWith(dir.endsWith("/") ? dir : dir + "/");
}

/** The longest common directory of absolute, normalized paths `a` and `b`. */
export function commonDir(a: string, b: string): string {
  const sa = a.split("/");
  const sb = b.split("/");
  let i = 0;
  while (i < sa.length && i < sb.length && sa[i] === sb[i]) i++;
  const c = sa.slice(0, i).join("/");
  return c === "" ? "/" : c;
}

/** The outcome of {@link chooseRoot}. */
export interface RootChoice {
  /** Absolute directory on the client that becomes the input root. */
  root: string;
  /** Inputs (absolute) that travel in the input root. */
  inRoot: string[];
  /** Inputs (absolute) the worker provides: listed in the manifest. */
  envProvided: string[];
}

/**
 * Chooses the root: the common directory of `cwd`, `outputs` and every input that is not under an
 * environment prefix. Inputs under an environment prefix and outside that root are env-provided.
 * Returns the root `/` unchanged when nothing narrower exists: callers reject it.
 * @param cwd absolute client cwd; `outputs` and `inputs` absolute and normalized.
 */
export function chooseRoot(cwd: string, outputs: string[], inputs: string[], envPrefixes: string[]): RootChoice {
  const isEnv = (p: string) => envPrefixes.some((pre) => isUnder(p, pre.replace(/\/$/, "") || "/"));
  let root = path.resolve(cwd);
  for (const o of outputs) root = commonDir(root, path.dirname(o));
  for (const i of inputs) if (!isUnder(i, root) && !isEnv(i)) root = commonDir(root, path.dirname(i));
  const inRoot: string[] = [];
  const envProvided: string[] = [];
  for (const i of inputs) (isUnder(i, root) ? inRoot : envProvided).push(i);
  return { root, inRoot, envProvided };
}

/**
 * Replaces the client root in an argument by `token`, where it stands as a whole path prefix
 * (followed by `/`, `=`, `:` or the end), so `-I/src/proj/inc` → `-I@GOMA_ROOT@/inc` for root
 * `/src/proj`, but `-I/src/project2` is left alone.
 */
export function tokenizeRoot(arg: string, root: string, token: string): string {
  if (root === "/" || !arg.includes(root)) return arg;
  let out = "";
  let i = 0;
  for (;;) {
    const j = arg.indexOf(root, i);
    if (j < 0) break;
    const next = arg[j + root.length];
    if (next === undefined || next === "/" || next === "=" || next === ":") {
      out += arg.slice(i, j) + token;
    } else {
      out += arg.slice(i, j + root.length);
    }
    i = j + root.length;
  }
  return out + arg.slice(i);
}
