/**
 * Real projects configured with their own CMake build, for checking the include scanner on code it was
 * not tuned on: Debian's fmtlib, leveldb, libpng1.6 and curl. Each is configured out of tree (CMake's
 * compile_commands.json gives every TU's own command); nothing is written into the sources
 * (.cache/src, shared). Used by scripts/check-include.ts (every project, flag variants) and
 * test/include/corpus-cmake.test.ts (the smaller ones, own flags).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const REPO = path.resolve(import.meta.dirname, "../..");

/**
 * A project: its Debian source package, CMake options (given the unpacked sources of every fetched
 * package), targets to build before scanning (generated headers), whether its variants are C++ ones,
 * and the other source packages it needs.
 */
export interface CmakeProject { name: string; pkg: string; cmake: (src: Record<string, string>) => string[]; after?: string[]; cxx: boolean; needs?: string[] }

/** One TU's compile command from compile_commands.json. */
export interface CompileCommand {
  /** The argv without the compiler. */
  args: string[];
  cwd: string;
  /** The source, absolute. */
  file: string;
}

export const CMAKE_PROJECTS: CmakeProject[] = [
  { name: "fmtlib", pkg: "fmtlib", cmake: () => ["-DFMT_TEST=ON"], cxx: true },
  {
    // Debian's leveldb strips third_party/ (its tests use the system's gmock and benchmark): the headers
    // come from Debian's googletest and benchmark sources instead, so the test TUs compile too.
    name: "leveldb", pkg: "leveldb", cxx: true, needs: ["googletest", "benchmark"],
    cmake: (s) => [`-DCMAKE_CXX_FLAGS=-isystem ${s.googletest}/googlemock/include -isystem ${s.googletest}/googletest/include -isystem ${s.benchmark}/include`],
  },
  { name: "libpng", pkg: "libpng1.6", cmake: () => [], after: ["genfiles"], cxx: false },
  // Two TUs are generated (ninja builds libcurl on the way: a few minutes, once).
  { name: "curl", pkg: "curl", cmake: () => [], after: ["src/tool_hugehelp.c", "tests/libtest/lib1521.c"], cxx: false },
];

/**
 * Fetches the sources of `projects` (and what they need) with scripts/fetch-sources.sh.
 * @returns source package → unpacked directory.
 * @throws Error when fetch-sources.sh fails (it needs Debian's mirrors on first use).
 */
export function fetchCmakeSources(projects: readonly CmakeProject[]): Record<string, string> {
  const out = execFileSync("bash", [path.join(REPO, "scripts/fetch-sources.sh"), ...projects.flatMap((p) => [p.pkg, ...p.needs ?? []])], {
    encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
  });
  const src: Record<string, string> = {};
  for (const line of out.trim().split("\n")) {
    const m = /^([\w.+-]+): (.+)$/.exec(line);
    if (m) src[m[1]!] = path.resolve(REPO, m[2]!);
  }
  return src;
}

/** Splits a compile_commands.json "command" the way sh would (quotes and backslashes; no expansions). */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      cur += s.slice(i + 1, j);
      i = j;
      any = true;
    } else if (c === '"') {
      i++;
      while (s[i] !== '"') {
        if (s[i] === "\\" && '"\\$`\n'.includes(s[i + 1]!)) i++;
        cur += s[i++];
      }
      any = true;
    } else if (c === "\\") {
      cur += s[++i];
      any = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

/**
 * Configures one project into `buildDir` (once: an existing compile_commands.json is reused) and
 * returns its compile commands, one per distinct source (the first), at most `max`.
 * @throws Error when cmake or ninja fails.
 */
export function cmakeCommands(p: CmakeProject, src: Record<string, string>, buildDir: string, max = Infinity): CompileCommand[] {
  if (!fs.existsSync(path.join(buildDir, "compile_commands.json"))) {
    execFileSync("cmake", ["-S", src[p.pkg]!, "-B", buildDir, "-G", "Ninja", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", "-DCMAKE_BUILD_TYPE=Release", ...p.cmake(src)], { stdio: ["ignore", "ignore", "inherit"] });
    if (p.after) execFileSync("ninja", ["-C", buildDir, ...p.after], { stdio: ["ignore", "ignore", "inherit"] });
  }
  const db = JSON.parse(fs.readFileSync(path.join(buildDir, "compile_commands.json"), "utf8")) as { directory: string; command?: string; arguments?: string[]; file: string }[];
  const seen = new Set<string>();
  const out: CompileCommand[] = [];
  for (const e of db) {
    if (seen.has(e.file) || seen.size >= max) continue;
    seen.add(e.file);
    const a = e.arguments ?? shellSplit(e.command!);
    out.push({ args: a.slice(1), cwd: e.directory, file: e.file });
  }
  return out;
}

/** The compile with `cc` instead of the project's compiler, its -o sent to `obj`, `extra` flags last (they override). */
export function withCompiler(c: CompileCommand, cc: string, obj: string, extra: readonly string[] = []): string[] {
  const rest = [...c.args];
  const o = rest.indexOf("-o");
  if (o >= 0) rest.splice(o, 2, "-o", obj);
  return [cc, ...rest, ...extra];
}
