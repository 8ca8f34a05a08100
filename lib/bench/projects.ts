/**
 * What `goma bench` builds. A project is one of
 * - a known Debian source package (zlib, lua5.4, yaml-cpp), fetched with the repository's
 *   scripts/fetch-sources.sh or taken from `NAME=DIR`, built with the *objects* recipe: every translation
 *   unit compiled once with `-O2 -g -MD`, absolute source and output paths, from a generated Makefile
 *   under `make -j N` (no configure, no link);
 * - a directory with a CMakeLists.txt (*cmake* recipe: `cmake` configures untimed with the tool as
 *   compiler launcher and RelWithDebInfo, then `cmake --build -j N` is timed), or with a Makefile
 *   (*make* recipe: `make -j N CC=… CXX=…` in a fresh copy of the tree).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { BenchError } from "./args.ts";

/** A project to build, resolved to a source directory. */
export interface Project {
  /** Display name: the package name, or the directory's base name. */
  name: string;
  /** The pristine source tree (never written to: every tool builds its own copy). */
  source: string;
  recipe: "objects" | "make" | "cmake";
  /** For the objects recipe: how to compile. */
  objects?: ObjectsRecipe;
}

/** The objects recipe of a known project. */
export interface ObjectsRecipe {
  /** The compiler driver: gcc or g++. */
  compiler: string;
  /** Translation units, relative to the tree's root. */
  units(root: string): string[];
  /** Flags besides `-MD -c SRC -o OBJ` (include dirs absolute, under `root`). */
  flags(root: string): string[];
  /** The unit whose warm hit is timed (relative to the root). */
  hitUnit: string;
  /** Files the Debian build generates before compiling, written into the copy. */
  generate?(root: string): void;
}

const ls = (root: string, dir: string, re: RegExp): string[] => {
  const d = join(root, dir);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => re.test(f)).sort().map((f) => (dir ? `${dir}/${f}` : f));
};

/** The known projects' recipes (flags as their own builds use them, reduced to what compiles). */
export const KNOWN: Record<string, ObjectsRecipe> = {
  zlib: {
    compiler: "gcc",
    units: (root) => [...ls(root, "", /\.c$/), ...ls(root, "test", /\.c$/)],
    flags: (root) => ["-O2", "-g", "-fPIC", "-D_LARGEFILE64_SOURCE=1", "-DHAVE_HIDDEN", `-I${root}`],
    hitUnit: "deflate.c",
  },
  "lua5.4": {
    compiler: "gcc",
    units: (root) => ls(root, "src", /\.c$/),
    flags: () => ["-std=gnu99", "-O2", "-g", "-Wall", "-Wextra", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"],
    hitUnit: "src/lapi.c",
    // Debian's luaconf.h includes the multiarch header its rules generate.
    generate: (root) =>
      writeFileSync(join(root, "src", "lua5.4-deb-multiarch.h"),
        '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"\n#endif\n'),
  },
  "yaml-cpp": {
    compiler: "g++",
    units: (root) => [...ls(root, "src", /\.cpp$/), ...ls(root, "src/contrib", /\.cpp$/)],
    flags: (root) => ["-std=c++17", "-O2", "-g", "-DNDEBUG", "-fPIC", `-I${join(root, "include")}`],
    hitUnit: "src/node.cpp",
  },
};

/** The repository this binary belongs to (holding scripts/fetch-sources.sh): the cwd or an ancestor, or dist/..  */
export function findRepo(cwd: string, execPath: string): string | undefined {
  const starts = [cwd, dirname(dirname(execPath))];
  for (const s of starts) {
    for (let d = resolve(s); ; d = dirname(d)) {
      if (existsSync(join(d, "scripts", "fetch-sources.sh")) && existsSync(join(d, "cmd", "goma.ts"))) return d;
      if (d === dirname(d)) break;
    }
  }
  return undefined;
}

/**
 * Resolves the command line's project words: `NAME` (a known project, fetched), `NAME=DIR` (a known
 * project's recipe on DIR) or `DIR` (a directory with a CMakeLists.txt or a Makefile).
 * @throws BenchError (one line) for an unknown name, a missing directory, a directory without a build,
 *   or when known projects must be fetched and no repository is found or fetch-sources.sh fails.
 */
export function resolveProjects(words: string[], cwd: string, execPath: string): Project[] {
  const out: Project[] = [];
  const toFetch: string[] = [];
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq > 0 && KNOWN[w.slice(0, eq)]) {
      const dir = resolve(cwd, w.slice(eq + 1));
      if (!isDir(dir)) throw new BenchError(`${w.slice(0, eq)}: ${dir} is not a directory`);
      out.push({ name: w.slice(0, eq), source: dir, recipe: "objects", objects: KNOWN[w.slice(0, eq)] });
    } else if (KNOWN[w] && !isDir(resolve(cwd, w))) {
      out.push({ name: w, source: "", recipe: "objects", objects: KNOWN[w] });
      toFetch.push(w);
    } else if (w.includes("/") || isDir(resolve(cwd, w))) {
      const dir = resolve(cwd, w);
      if (!isDir(dir)) throw new BenchError(`${w}: no such directory`);
      const recipe = existsSync(join(dir, "CMakeLists.txt")) ? "cmake" : existsSync(join(dir, "Makefile")) || existsSync(join(dir, "makefile")) ? "make" : undefined;
      if (!recipe) throw new BenchError(`${w}: neither a CMakeLists.txt nor a Makefile in ${dir}`);
      out.push({ name: basename(dir), source: dir, recipe });
    } else {
      throw new BenchError(`unknown project '${w}' (known: ${Object.keys(KNOWN).join(", ")}; or NAME=DIR, or a directory with a CMakeLists.txt or Makefile)`);
    }
  }
  if (toFetch.length) {
    const repo = findRepo(cwd, execPath);
    if (!repo) throw new BenchError(`${toFetch.join(", ")}: not in the goma repository (no scripts/fetch-sources.sh): give the source directory as NAME=DIR`);
    const r = spawnSync("bash", [join(repo, "scripts", "fetch-sources.sh"), ...toFetch], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) {
      const last = (r.stderr || r.stdout || "").trim().split("\n").pop() ?? "";
      throw new BenchError(`scripts/fetch-sources.sh ${toFetch.join(" ")} failed: ${last}`);
    }
    for (const line of r.stdout.trim().split("\n")) {
      const m = /^([\w.+-]+): (.+)$/.exec(line);
      const p = m && out.find((x) => x.name === m[1] && !x.source);
      if (p) p.source = resolve(repo, m[2]!);
    }
    const lost = out.filter((p) => !p.source).map((p) => p.name);
    if (lost.length) throw new BenchError(`scripts/fetch-sources.sh did not report a directory for ${lost.join(", ")}`);
  }
  const names = new Set<string>();
  for (const p of out) {
    if (names.has(p.name)) throw new BenchError(`project '${p.name}' given twice`);
    names.add(p.name);
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Shell single-quoting. */
export const sq = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const mk = (s: string): string => sq(s).replace(/\$/g, "$$$$");

/** A project checked out (copied) for one tool at one path: what to run before and for a timed build. */
export interface Checkout {
  root: string;
  /** Untimed: brings the copy to a clean state before a build (clears outputs, configures). */
  prepare(): void;
  /** The timed build, a bash script run in `root`. */
  script: string;
  /** The number of compiles when known in advance (objects recipe). */
  compiles?: number;
  /** The argv of the hit-latency compile (objects recipe), run in `root`. */
  hitArgv?: string[];
}

/**
 * Copies `project` to `root` (once) and plans its build with compilers prefixed by `wrap` (e.g.
 * ["ccache"], [goma, "cc"], []).
 * @param env the environment configure runs with (cmake recipe), read at each prepare.
 * @param opts.prefixMap objects recipe: compile with `-ffile-prefix-map=<root>=.` too.
 * @throws BenchError when the cmake configure fails.
 */
export function checkout(
  project: Project, root: string, wrap: string[], jobs: number, env: () => Record<string, string>, opts: { prefixMap?: boolean } = {},
): Checkout {
  const fresh = () => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(dirname(root), { recursive: true });
    cpSync(project.source, root, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  };
  if (!existsSync(root)) fresh();
  const cc = (c: string) => [...wrap, c];
  if (project.recipe === "objects") {
    const r = project.objects!;
    r.generate?.(root);
    const bench = join(root, "_bench");
    const out = join(bench, "out");
    const units = r.units(root);
    if (!units.length) throw new BenchError(`${project.name}: no translation units found in ${project.source}`);
    const flags = [...r.flags(root), ...(opts.prefixMap ? [`-ffile-prefix-map=${root}=.`] : [])];
    const cmd = (u: string) => [...cc(r.compiler), ...flags, "-MD", "-c", join(root, u), "-o", join(out, u.replace(/\.[^.]+$/, ".o"))];
    const objs = units.map((u) => join(out, u.replace(/\.[^.]+$/, ".o")));
    const lines = [`all: ${objs.map(mk).join(" ")}`, ""];
    units.forEach((u, i) => lines.push(`${mk(objs[i]!)}: ${mk(join(root, u))}`, `\t${cmd(u).map(mk).join(" ")}`, ""));
    mkdirSync(bench, { recursive: true });
    writeFileSync(join(bench, "build.mk"), lines.join("\n"));
    return {
      root,
      prepare: () => {
        rmSync(out, { recursive: true, force: true });
        for (const o of objs) mkdirSync(dirname(o), { recursive: true });
      },
      script: `exec make -s -f ${sq(join(bench, "build.mk"))} -j${jobs}`,
      compiles: units.length,
      hitArgv: units.includes(r.hitUnit) ? cmd(r.hitUnit) : cmd(units[0]!),
    };
  }
  if (project.recipe === "make") {
    return {
      root,
      prepare: fresh,
      script: `exec make -j${jobs} CC=${sq(cc("gcc").join(" "))} CXX=${sq(cc("g++").join(" "))}`,
    };
  }
  const build = join(root, "_bench_build");
  return {
    root,
    prepare: () => {
      rmSync(build, { recursive: true, force: true });
      const launcher = wrap.length ? [`-DCMAKE_C_COMPILER_LAUNCHER=${wrap.join(";")}`, `-DCMAKE_CXX_COMPILER_LAUNCHER=${wrap.join(";")}`] : [];
      const r = spawnSync("cmake", ["-S", root, "-B", build, "-G", "Unix Makefiles", "-DCMAKE_BUILD_TYPE=RelWithDebInfo", ...launcher], {
        cwd: root, env: env(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
      });
      if (r.status !== 0) {
        const last = (r.stderr || r.stdout || r.error?.message || "").trim().split("\n").pop();
        throw new BenchError(`${project.name}: cmake configure failed in ${relative(process.cwd(), root) || root}: ${last}`);
      }
    },
    script: `exec cmake --build ${sq(build)} -j${jobs}`,
  };
}
