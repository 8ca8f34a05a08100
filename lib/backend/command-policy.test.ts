/**
 * The executor's command rule (lib/backend/command-policy.ts) on a real embedded backend: a shell, a
 * shell behind goma's wrapper, an undeclared or uploaded compiler, a changed wrapper, a preloaded
 * library or a -wrapper argument are refused with FAILED_PRECONDITION before anything runs; a declared
 * compiler behind the wrapper runs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ReapiClient } from "../reapi/client.ts";
import { MANIFEST_PATH, WRAPPER_PATH, WRAPPER_SCRIPT } from "../server/wrapper.ts";
import { Code } from "../util/status.ts";
import { dangerousArgument } from "./command-policy.ts";
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
