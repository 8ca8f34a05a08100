/**
 * Masquerade mode (Goma's and ccache's way of wrapping a build without touching it): a directory of
 * links named after compilers (`gcc`, `g++`, `cc`, `c++`, `clang`, `clang++`, versioned and
 * target-prefixed names such as `gcc-12` or `x86_64-linux-gnu-g++-12`) that point at goma, put first on
 * PATH. `gcc -c a.c` then runs as `goma cc gcc -c a.c`, with the real compiler found further along PATH,
 * skipping every entry that is goma itself (by real path, so links in any directory, and links to links,
 * never make goma run itself).
 *
 * Spec: Goma's gomacc "masquerade" invocation (reference/goma-protocol.md §4.1); ccache(1) "Run
 * modes". Lean: node:fs, node:path and the light compiler registry only (this is on the `goma cc` path).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isCompilerName } from "../compiler/registry.ts";


/** The link names `goma cc --install-links` makes besides the versioned ones found on PATH. */
export const DEFAULT_LINK_NAMES = ["gcc", "g++", "cc", "c++", "clang", "clang++"] as const;

/**
 * True when goma invoked under `name` (the basename of argv[0]) is masquerading as a compiler: a name
 * some compiler type claims (lib/compiler/registry.ts, the light registry: an optional target prefix
 * `x86_64-linux-gnu-`, gcc, g++, cc, c++, clang, clang++, an optional version suffix `-12`; fake-cc).
 * @example isMasqueradeName("x86_64-linux-gnu-gcc-12") // true
 * @example isMasqueradeName("goma") // false
 */
export function isMasqueradeName(name: string): boolean {
  return isCompilerName(name);
}

let selfReal: string | undefined;
/** The real path of the running goma binary (process.execPath through its links). */
export function gomaRealPath(): string {
  if (selfReal === undefined) {
    try {
      selfReal = fs.realpathSync(process.execPath);
    } catch {
      selfReal = process.execPath;
    }
  }
  return selfReal;
}

/** True when `file` is an executable regular file that is not goma itself. */
function isRealCompiler(file: string): boolean {
  try {
    const real = fs.realpathSync(file);
    if (real === gomaRealPath()) return false;
    const base = path.basename(real);
    if (base === "goma" || base === "gomacc") return false;
    if (!fs.statSync(real).isFile()) return false;
    fs.accessSync(real, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The compiler `name` stands for: the first executable of that name on `pathVar` that is not goma.
 * @param name a bare compiler name ("gcc"); a name with a slash is returned as it is.
 * @param pathVar the PATH to search (`:`-separated; an empty entry means the current directory).
 * @returns the absolute path, or undefined when every `name` on PATH is goma.
 */
export function findRealCompiler(name: string, pathVar: string, cwd: string = process.cwd()): string | undefined {
  if (name.includes("/")) return name;
  for (const dir of pathVar.split(":")) {
    const p = path.resolve(cwd, dir || ".", name);
    if (isRealCompiler(p)) return p;
  }
  return undefined;
}

/**
 * Makes (or refreshes) links named after compilers in `dir`, each pointing at the goma binary: the
 * {@link DEFAULT_LINK_NAMES}, the versioned names found on PATH (`gcc-12`, `clang++-14` …) and `extra`.
 * An existing file that is not a link to goma is left alone and reported.
 * @returns the names linked and the names skipped (with why).
 * @throws {Error} when `dir` cannot be created.
 */
export function installLinks(dir: string, pathVar: string, extra: readonly string[] = []): { linked: string[]; skipped: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const target = gomaRealPath();
  const names = new Set<string>([...DEFAULT_LINK_NAMES, ...extra]);
  const versioned = /^(?:gcc|g\+\+|clang|clang\+\+)-[0-9]+(?:\.[0-9]+)*$/;
  const absDir = path.resolve(dir);
  for (const d of pathVar.split(":")) {
    if (!d || path.resolve(d) === absDir) continue;
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const e of entries) if (versioned.test(e) && isRealCompiler(path.join(d, e))) names.add(e);
  }
  const linked: string[] = [];
  const skipped: string[] = [];
  for (const name of [...names].sort()) {
    if (!isMasqueradeName(name)) {
      skipped.push(`${name}: not a compiler name goma answers to`);
      continue;
    }
    const p = path.join(dir, name);
    let existing: fs.Stats | undefined;
    try {
      existing = fs.lstatSync(p);
    } catch {
      // absent
    }
    if (existing && !(existing.isSymbolicLink() && safeRealpath(p) === target)) {
      skipped.push(`${name}: ${p} exists and is not a link to goma`);
      continue;
    }
    const tmp = `${p}.goma-tmp-${process.pid}`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, p);
    linked.push(name);
  }
  return { linked, skipped };
}

function safeRealpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
