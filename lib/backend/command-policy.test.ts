/**
 * The executor's command rule (lib/backend/command-policy.ts) on a real embedded backend: a shell, a
 * shell behind goma's wrapper, an undeclared or uploaded compiler, a changed wrapper, a preloaded
 * library, a -wrapper argument, a plugin behind -Wp, a GOMA_ARGV0 or LIBRARY_PATH that would make gcc
 * take cc1 from the request's or another user's files are refused with FAILED_PRECONDITION before
 * anything runs; a declared compiler behind the wrapper runs, also with a GOMA_ARGV0 in a trusted
 * directory of links.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ReapiClient } from "../reapi/client.ts";
import { MANIFEST_PATH, WRAPPER_PATH, WRAPPER_SCRIPT } from "../server/wrapper.ts";
import { Code } from "../util/status.ts";
import { argv0Violation, dangerousArgument, notACompile } from "./command-policy.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { type TestActionSpec, uploadTestAction } from "./test-actions.ts";

let dir: string;
let backend: EmbeddedBackend;
let client: ReapiClient;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "goma-policy-"));
  backend = await startEmbeddedBackend({ dataDir: join(dir, "data"), authorize: () => undefined, sandbox: "off" } as Parameters<typeof startEmbeddedBackend>[0]);
  client = new ReapiClient({ target: backend.address, instanceName: "" });
});
after(async () => {
  client.close();
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const manifestOf = (...paths: string[]) => paths.sort().map((p) => `${sha(p)}  ${p}\n`).join("");
const PATH = { PATH: "/usr/local/bin:/usr/bin:/bin", WORK_DIR: "." };

/** A goma-shaped action: the wrapper, a manifest, and argv after the wrapper. */
function wrapped(args: string[], opts: { manifest?: string; wrapper?: string; env?: Record<string, string>; inputs?: TestActionSpec["inputs"] } = {}): TestActionSpec {
  return {
    argv: [WRAPPER_PATH, ...args], env: opts.env ?? PATH, salt: String(Math.random()),
    inputs: {
      [WRAPPER_PATH]: { data: opts.wrapper ?? WRAPPER_SCRIPT, executable: true },
      [MANIFEST_PATH]: { data: opts.manifest ?? "" },
      ...opts.inputs,
    },
  };
}

async function refused(spec: TestActionSpec, why: RegExp): Promise<void> {
  const a = await uploadTestAction(client, spec);
  const res = await client.execute(a.actionDigest);
  assert.equal(res.status?.code, Code.FailedPrecondition, JSON.stringify(res.status));
  assert.match(res.status?.message ?? "", /^the embedded backend runs only declared compilers through goma's wrapper: /);
  assert.match(res.status?.message ?? "", why);
  assert.equal(res.result?.exitCode ?? 0, 0);
}

test("a shell command is refused before it runs (it would have run as the server's user)", async () => {
  const marker = join(dir, "pwned");
  await refused({ argv: ["/bin/sh", "-c", `id > ${marker}`], env: PATH }, /the program is "\/bin\/sh", not \.goma\/run\.sh/);
  assert.equal(existsSync(marker), false);
});

test("behind the wrapper: /bin/sh, an undeclared compiler, an uploaded compiler and a changed wrapper are refused", async () => {
  const marker = join(dir, "pwned2");
  await refused(wrapped(["/bin/sh", "-c", `id > ${marker}`], { manifest: manifestOf("/bin/sh") }), /\/bin\/sh .*is not a C\/C\+\+ compiler driver/);
  await refused(wrapped(["/usr/bin/gcc", "--version"]), /the compiler \/usr\/bin\/gcc is not listed in the request's \.goma\/env-manifest/);
  await refused(wrapped(["@GOMA_ROOT@/bin/gcc", "--version"], { inputs: { "bin/gcc": { data: "#!/bin/sh\nid\n", executable: true } } }),
    /the compiler "@GOMA_ROOT@\/bin\/gcc" is a file of the request's input root, not the worker's own/);
  await refused(wrapped(["/usr/bin/gcc", "--version"], { manifest: manifestOf("/usr/bin/gcc"), wrapper: WRAPPER_SCRIPT.replace("set -e", `id > ${marker}`) }),
    /\.goma\/run\.sh is not this build's wrapper/);
  assert.equal(existsSync(marker), false);
});

test("LD_PRELOAD, BASH_ENV, a relative PATH, -wrapper, -fplugin and response files are refused", async () => {
  const m = manifestOf("/usr/bin/gcc");
  await refused(wrapped(["/usr/bin/gcc", "--version"], { manifest: m, env: { ...PATH, LD_PRELOAD: "./evil.so" } }), /environment variable "LD_PRELOAD"/);
  await refused(wrapped(["/usr/bin/gcc", "--version"], { manifest: m, env: { ...PATH, BASH_ENV: "./evil.sh" } }), /environment variable "BASH_ENV"/);
  await refused(wrapped(["/usr/bin/gcc", "--version"], { manifest: m, env: { ...PATH, PATH: ".:/usr/bin" } }), /PATH ".:\/usr\/bin" has a directory/);
  await refused(wrapped(["/usr/bin/gcc", "-wrapper", "/bin/sh,-c,id", "-c", "a.c"], { manifest: m }), /argument "-wrapper"/);
  assert.equal(dangerousArgument(["-c", "-fplugin=./x.so"]), "-fplugin=./x.so");
  assert.equal(dangerousArgument(["-Xclang", "-load", "-Xclang", "x.so"]), "-Xclang -load");
  assert.equal(dangerousArgument(["@args.rsp"]), "@args.rsp");
  assert.equal(dangerousArgument(["@GOMA_ROOT@/src/a.c", "-I@GOMA_ROOT@/inc", "-O2", "-c"]), undefined);
});

test("a declared compiler behind this build's wrapper runs", async () => {
  for (const cc of ["/usr/bin/gcc", "/usr/bin/clang++"]) {
    const a = await uploadTestAction(client, wrapped([cc, "--version"], { manifest: manifestOf(cc) }));
    const res = await client.execute(a.actionDigest);
    assert.equal(res.status?.code ?? 0, Code.OK, res.status?.message ?? "");
    assert.equal(res.result?.exitCode, 0);
    const out = Buffer.from(await client.readBlob({ hash: res.result!.stdoutDigest!.hash!, sizeBytes: Number(res.result!.stdoutDigest!.sizeBytes) })).toString();
    assert.match(out, cc.includes("clang") ? /clang version/ : /gcc/);
  }
});

const gccLibDir = () => `lib/gcc/${execFileSync("gcc", ["-dumpmachine"], { encoding: "utf8" }).trim()}/${execFileSync("gcc", ["-dumpversion"], { encoding: "utf8" }).trim()}`;

test("GOMA_ARGV0 pointing gcc at an uploaded cc1, the data directory or a directory others can write is refused; cc1 never runs", async () => {
  const marker = join(dir, "pwned-argv0");
  const cc1 = `#!/bin/sh\necho pwned >> ${marker}\nexit 1\n`;
  const inputs = { [`x/${gccLibDir()}/cc1`]: { data: cc1, executable: true }, "m.c": { data: "int x;\n" } };
  const compile = (argv0: string) =>
    wrapped(["/usr/bin/gcc", "-c", "m.c", "-o", "m.o"], { manifest: manifestOf("/usr/bin/gcc"), env: { ...PATH, GOMA_ARGV0: argv0 }, inputs });
  // gcc finds cc1 at <argv0's dir>/../lib/gcc/<triple>/<version>/, here the input root's x/lib/gcc/….
  await refused(compile("./x/bin/gcc"), /GOMA_ARGV0 "\.\/x\/bin\/gcc" is not an absolute, normalized path/);
  await refused(compile("/usr/bin/../../x/bin/gcc"), /is not an absolute, normalized path/);
  await refused(compile(join(dir, "data", "exec", "x", "bin", "gcc")), /inside the backend's or the server's data directory/);
  // Anyone may write here: gcc takes <dir>/../lib/gcc/… lexically, even though <dir> (bin) does not exist.
  const open = join(dir, "open");
  mkdirSync(join(open, gccLibDir()), { recursive: true });
  writeFileSync(join(open, gccLibDir(), "cc1"), cc1, { mode: 0o755 });
  chmodSync(open, 0o777);
  await refused(compile(join(open, "bin", "gcc")), /GOMA_ARGV0 ".*\/open\/bin\/gcc".*\/open .*can be changed by users other than root and the server's/);
  symlinkSync(open, join(dir, "via-link"));
  await refused(compile(join(dir, "via-link", "bin", "gcc")), /can be changed by users other than root and the server's/);
  assert.equal(existsSync(marker), false, "the uploaded or planted cc1 ran");
});

test("LIBRARY_PATH naming the request's own specs file (which can add -B and so choose cc1) is refused", async () => {
  const marker = join(dir, "pwned-specs");
  const lib = gccLibDir();
  await refused(wrapped(["/usr/bin/gcc", "-c", "m.c", "-o", "m.o"], {
    manifest: manifestOf("/usr/bin/gcc"), env: { ...PATH, LIBRARY_PATH: "ev" },
    inputs: {
      "ev/specs": { data: `*self_spec:\n+ -Bx/${lib}/\n\n` },
      [`x/${lib}/cc1`]: { data: `#!/bin/sh\necho pwned >> ${marker}\nexit 1\n`, executable: true },
      "m.c": { data: "int x;\n" },
    },
  }), /LIBRARY_PATH directory "ev" is not an absolute, normalized path/);
  assert.equal(existsSync(marker), false, "the uploaded cc1 ran");
});

test("argv0Violation(): trusted directories of links pass, also when missing; others' and sticky directories do not", async () => {
  const links = join(dir, "links", "bin");
  mkdirSync(links, { recursive: true });
  symlinkSync("/usr/bin/clang++", join(links, "clang++"));
  const prot = [join(dir, "data")];
  assert.equal(await argv0Violation(join(links, "clang++"), prot), undefined);
  assert.equal(await argv0Violation(join(dir, "missing", "bin", "gcc"), prot), undefined, "nothing resolves below a missing directory no one else can create");
  assert.equal(await argv0Violation("/usr/bin/gcc", prot), undefined);
  assert.equal(await argv0Violation("", prot), undefined);
  assert.match(await argv0Violation("/usr//bin/gcc", prot) ?? "", /not an absolute, normalized path/);
  assert.match(await argv0Violation("/usr/bin/./gcc", prot) ?? "", /not an absolute, normalized path/);
  // /tmp is sticky and world-writable: fine to pass through to an existing directory of ours, never as
  // the compiler's directory or its parent (gcc would read /tmp/lib/gcc/…, which anyone can create).
  assert.match(await argv0Violation("/tmp/goma-no-such-dir/gcc", prot) ?? "", /\/tmp .*can be changed by users other than root/);
  assert.match(await argv0Violation(join(dir, "data", "bin", "gcc"), prot) ?? "", /inside the backend's or the server's data directory/);
});

test("a declared compiler with GOMA_ARGV0 in a trusted directory of links compiles", async () => {
  const links = join(dir, "links2", "bin");
  mkdirSync(links, { recursive: true });
  symlinkSync("/usr/bin/clang++", join(links, "clang++"));
  const a = await uploadTestAction(client, wrapped(["/usr/bin/clang++", "-c", "m.cc", "-o", "m.o"], {
    manifest: manifestOf("/usr/bin/clang++"), env: { ...PATH, GOMA_ARGV0: join(links, "clang++") }, inputs: { "m.cc": { data: "int f() { return 1; }\n" } },
  }));
  const res = await client.execute(a.actionDigest);
  assert.equal(res.status?.code ?? 0, Code.OK, res.status?.message ?? "");
  assert.equal(res.result?.exitCode, 0);
});

test("dangerousArgument() refuses plugins behind -Wp/-Xpreprocessor/-Xclang, the linker's choice and toolchain directories outside the env prefixes", () => {
  for (const args of [
    ["-Wp,-fplugin=./x.so"], ["-Wp,-MD,a.d,-fplugin=x.so"], ["-Wp,-load,x.so"], ["-Wp,@x.rsp"], ["-Xpreprocessor", "-fplugin=x.so"], ["-Xpreprocessor", "-load"],
    ["-Xclang", "-load"], ["-Xclang", "-plugin"], ["-Xclang", "-add-plugin"], ["-Xclang", "-fpass-plugin=x.so"], ["-Xclang", "-plugin-arg-foo"], ["-Xclang=-load"], ["-Xarch_x86_64", "-fplugin=x.so"],
    ["-fpass-plugin=x.so"], ["-fuse-ld=lld"], ["--ld-path=/tmp/ld"], ["-Wl,--as-needed"], ["-Xlinker", "-z"],
    ["--gcc-toolchain=/opt/gcc"], ["--gcc-toolchain=@GOMA_ROOT@/tc"], ["--gcc-toolchain=/usr/../tmp"], ["--gcc-toolchain", "/tmp/tc"],
    ["--gcc-install-dir=/tmp/gcc/12"], ["-ccc-install-dir", "/tmp/bin"], ["-ccc-install-dir", "@GOMA_ROOT@/bin"], ["-ccc-gcc-name", "/usr/bin/gcc"],
  ]) assert.notEqual(dangerousArgument(["-c", "a.c", ...args]), undefined, args.join(" "));
  assert.equal(dangerousArgument(["-Xclang", "-load", "-Xclang", "x.so"]), "-Xclang -load");
  assert.equal(dangerousArgument(["-Wp,-MD,a.d", "-Wa,--noexecstack", "-Xclang", "-fcolor-diagnostics", "-Xpreprocessor", "-dD", "-c", "a.c"]), undefined);
  assert.equal(dangerousArgument(["--gcc-toolchain=/usr", "--gcc-install-dir=/usr/lib/gcc/x86_64-linux-gnu/12", "-ccc-install-dir", "/usr/bin", "-c", "a.c"]), undefined);
  assert.equal(dangerousArgument(["--gcc-toolchain=/opt/gcc", "-c", "a.c"], ["/usr/", "/opt/gcc/"]), undefined, "an --env-prefix of the server");
});

test("notACompile(): only -c (what goma remotes) and goma doctor's lone --version run", () => {
  assert.equal(notACompile(["-c", "a.c", "-o", "a.o"]), undefined);
  assert.equal(notACompile(["--version"]), undefined);
  for (const args of [["a.c", "-o", "a"], ["-E", "a.c"], ["-S", "a.c"], ["-fsyntax-only", "a.c"], ["--version", "-o", "x"], []]) {
    assert.match(notACompile(args) ?? "", /no -c/, args.join(" "));
  }
});

test("through the REAPI port: a plugin behind -Wp, a linker choice and a link are refused; the plugin never loads", async () => {
  const marker = join(dir, "pwned-plugin");
  const src = join(dir, "evil.c");
  writeFileSync(src, `#include <stdio.h>\n__attribute__((constructor)) static void pwn(void) { FILE *f = fopen("${marker}", "a"); if (f) { fputs("pwned\\n", f); fclose(f); } }\nint plugin_is_GPL_compatible;\nint plugin_init(void) { return 0; }\n`);
  execFileSync("gcc", ["-shared", "-fPIC", src, "-o", join(dir, "evil.so")]);
  const m = manifestOf("/usr/bin/gcc");
  const inputs = { "evil.so": { data: readFileSync(join(dir, "evil.so")) }, "m.c": { data: "int x;\n" } };
  await refused(wrapped(["/usr/bin/gcc", "-Wp,-fplugin=@GOMA_ROOT@/evil.so", "-c", "m.c", "-o", "m.o"], { manifest: m, inputs }), /argument "-Wp,-fplugin=@GOMA_ROOT@\/evil\.so"/);
  await refused(wrapped(["/usr/bin/gcc", "-Xpreprocessor", "-fplugin=@GOMA_ROOT@/evil.so", "-c", "m.c"], { manifest: m, inputs }), /argument "-Xpreprocessor -fplugin=/);
  await refused(wrapped(["/usr/bin/gcc", "-fuse-ld=@GOMA_ROOT@/evil.so", "-c", "m.c"], { manifest: m, inputs }), /argument "-fuse-ld=/);
  await refused(wrapped(["/usr/bin/gcc", "m.c", "-o", "m"], { manifest: m, inputs }), /the arguments have no -c/);
  assert.equal(existsSync(marker), false, "the uploaded plugin was loaded");
});
