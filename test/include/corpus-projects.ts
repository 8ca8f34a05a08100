/**
 * The real projects the include scanner is checked and measured on: Debian's zlib, lua5.4 (as C, and
 * as C++ the way Debian also builds it) and yaml-cpp (C++17, std-heavy), each with the flags its own
 * build uses. Shared by test/include/corpus.test.ts and scripts/bench-include.ts.
 *
 * The sources come from `scripts/fetch-sources.sh` (apt-get source into .cache/src, idempotent) and are
 * copied to a temporary directory, old timestamps kept, so nothing is ever written into the shared
 * cache (lua's Debian build generates `lua5.4-deb-multiarch.h`; the copy gets it).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** One project × language: its translation units and the flags they are compiled with. */
export interface CorpusProject {
  /** "zlib", "lua", "lua-c++", "yaml-cpp". */
  name: string;
  /** The compile's working directory (absolute, inside the temporary copy). */
  cwd: string;
  /** The translation units, relative to cwd. */
  files: string[];
  /** The gcc and the clang driver that compile it: ["gcc", "clang"] or ["g++", "clang++"]. */
  compilers: [string, string];
  /** The flags of the project's own build, minus -c, -o and the source. */
  flags: string[];
}

const REPO = path.resolve(import.meta.dirname, "../..");
/** dpkg-buildflags of Debian 12 (CFLAGS + CPPFLAGS), as lua5.4's Makefile adds them. */
const DEBIAN_FLAGS = ["-g", "-O2", "-fstack-protector-strong", "-Wformat", "-Werror=format-security", "-Wdate-time", "-D_FORTIFY_SOURCE=2"];
const OLD = new Date("2020-01-01T00:00:00Z");

/**
 * Fetches the sources if needed and copies them to a fresh temporary directory.
 * @returns the projects and the directory to remove afterwards.
 * @throws Error when fetch-sources.sh fails (it needs Debian's mirrors).
 */
export function prepareCorpus(): { projects: CorpusProject[]; dir: string } {
  const out = execFileSync("bash", [path.join(REPO, "scripts/fetch-sources.sh"), "zlib", "lua5.4", "yaml-cpp"], {
    encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
  });
  const src: Record<string, string> = {};
  for (const line of out.trim().split("\n")) {
    const m = /^([\w.+-]+): (.+)$/.exec(line);
    if (m) src[m[1]!] = path.resolve(REPO, m[2]!);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-include-corpus-"));
  const copy = (pkg: string, to: string) => {
    fs.cpSync(src[pkg]!, path.join(dir, to), { recursive: true, preserveTimestamps: true });
    return path.join(dir, to);
  };
  const zlib = copy("zlib", "zlib");
  const lua = copy("lua5.4", "lua");
  const yaml = copy("yaml-cpp", "yaml-cpp");
  const deb = path.join(lua, "src", "lua5.4-deb-multiarch.h");
  fs.writeFileSync(deb, '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"\n#endif\n');
  fs.utimesSync(deb, OLD, OLD);
  fs.utimesSync(path.dirname(deb), OLD, OLD);
  const ls = (d: string, re: RegExp, prefix = "") =>
    fs.readdirSync(d).filter((f) => re.test(f)).sort().map((f) => prefix + f);
  const luaFlags = ["-Wall", "-Wextra", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX", "-DLUA_USE_READLINE", ...DEBIAN_FLAGS];
  const projects: CorpusProject[] = [
    {
      name: "zlib", cwd: zlib, compilers: ["gcc", "clang"],
      files: [...ls(zlib, /\.c$/), ...ls(path.join(zlib, "test"), /\.c$/, "test/")],
      flags: ["-g", "-O2", "-fPIC", "-D_LARGEFILE64_SOURCE=1", "-DHAVE_HIDDEN", "-I."],
    },
    {
      name: "lua", cwd: path.join(lua, "src"), compilers: ["gcc", "clang"],
      files: ls(path.join(lua, "src"), /\.c$/), flags: ["-std=gnu99", ...luaFlags],
    },
    {
      name: "lua-c++", cwd: path.join(lua, "src"), compilers: ["g++", "clang++"],
      files: ls(path.join(lua, "src"), /\.c$/), flags: luaFlags,
    },
    {
      name: "yaml-cpp", cwd: yaml, compilers: ["g++", "clang++"],
      files: [...ls(path.join(yaml, "src"), /\.cpp$/, "src/"), ...ls(path.join(yaml, "src/contrib"), /\.cpp$/, "src/contrib/"),
        ...ls(path.join(yaml, "util"), /\.cpp$/, "util/")],
      flags: ["-std=c++17", "-Iinclude", "-O2", "-g", "-DNDEBUG", "-Dyaml_cpp_EXPORTS", "-fPIC", "-fvisibility=hidden"],
    },
  ];
  return { projects, dir };
}
