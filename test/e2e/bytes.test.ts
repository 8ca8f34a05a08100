/**
 * End to end, with the compiled binary: argv and cwd are bytes. `gcc -c $'caf\xe9.c'` (a Latin-1 file
 * name, not valid UTF-8) must compile under `goma cc` exactly as without it: with GOMA_DISABLED=1, with
 * no proxy, and through the proxy (which records why it stays local: REAPI names are UTF-8). The
 * commands go through bash's $'…' so that the test itself passes the exact bytes. The environment too:
 * a CPATH naming a Latin-1 directory reaches the compiler unchanged.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;
const E9 = Buffer.from([0xe9]);
/** proj/d\xe9 as bytes. */
const subdir = () => Buffer.concat([Buffer.from(proj + "/d"), E9]);
const bytesPath = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-bytes-"));
  writeFileSync(bytesPath(proj, "/caf", E9, ".c"), "int cafe(void) { return 233; }\n");
  writeFileSync(join(proj, "café.c"), "int cafe_utf8(void) { return 233; }\n");
  mkdirSync(subdir());
  writeFileSync(bytesPath(subdir(), "/a.c"), "int in_latin1_dir(void) { return 1; }\n");
  mkdirSync(bytesPath(proj, "/inc", E9));
  writeFileSync(bytesPath(proj, "/inc", E9, "/latin1.h"), "#define FROM_LATIN1_DIR 42\n");
  writeFileSync(join(proj, "uses-cpath.c"), "#include <latin1.h>\nint from_cpath(void) { return FROM_LATIN1_DIR; }\n");
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

/** Runs `goma cc gcc -c <src> -o <obj>` in `dir` (bash $'…' syntax), with `env`. */
const gomaCc = (dir: string, src: string, obj: string, env: Record<string, string>) =>
  run(["bash", "-c", `cd ${dir} && exec "$0" cc gcc -O2 -c ${src} -o ${obj}`, gomaBin()], { env });
const localCc = (dir: string, src: string, obj: string) => run(["bash", "-c", `cd ${dir} && exec gcc -O2 -c ${src} -o ${obj}`]);

async function sameAsLocal(dir: string, src: string, objBytes: Buffer, obj: string, env: Record<string, string>) {
  rmSync(objBytes, { force: true });
  const r = await gomaCc(dir, src, obj, env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(objBytes), `the object ${JSON.stringify(objBytes.toString("latin1"))} exists, under its exact name`);
  const viaGoma = readFileSync(objBytes);
  rmSync(objBytes);
  const l = await localCc(dir, src, obj);
  assert.equal(l.code, 0, l.stderr);
  assert.ok(viaGoma.equals(readFileSync(objBytes)), "equal to a local compile's object");
}

test("a file name that is not valid UTF-8 compiles under goma cc: GOMA_DISABLED=1, without a proxy, and through the proxy", async () => {
  const obj = bytesPath(proj, "/caf", E9, ".o");
  await sameAsLocal(proj, "$'caf\\xe9.c'", obj, "$'caf\\xe9.o'", { ...stack.env, GOMA_DISABLED: "1" });
  const noProxy = mkdtempSync(join(tmpdir(), "goma-e2e-noproxy-"));
  await sameAsLocal(proj, "$'caf\\xe9.c'", obj, "$'caf\\xe9.o'", { ...stack.env, GOMA_TMP_DIR: noProxy });
  rmSync(noProxy, { recursive: true, force: true });
  await sameAsLocal(proj, "$'caf\\xe9.c'", obj, "$'caf\\xe9.o'", stack.env);
  const task = (await stack.tasks()).find((t) => t.argv.some((a) => a.startsWith("caf") && a.endsWith(".c") && a !== "café.c"));
  assert.equal(task?.outcome, "local", JSON.stringify(task));
  assert.match(task?.reason ?? "", /argument \d+ "caf\\xe9\.c" is not valid UTF-8/);
});

test("a working directory that is not valid UTF-8: the proxy keeps the compile local and the object is right", async () => {
  const dir = `${proj}/$'d\\xe9'`;
  await sameAsLocal(dir, "a.c", bytesPath(subdir(), "/a.o"), "a.o", stack.env);
  const task = (await stack.tasks()).find((t) => t.argv.includes("a.c"));
  assert.match(task?.reason ?? "", /working directory .* is not valid UTF-8/);
});

test("a UTF-8 file name (café.c) still compiles remotely", async () => {
  await sameAsLocal(proj, "café.c", Buffer.from(join(proj, "café.o")), "café.o", stack.env);
  const task = (await stack.tasks()).find((t) => t.argv.includes("café.c"));
  assert.equal(task?.outcome, "remote", JSON.stringify(task));
});

test("an environment variable that is not valid UTF-8 (CPATH naming a Latin-1 directory) reaches the compiler unchanged; the proxy keeps it local", async () => {
  // Only the CPATH directory has latin1.h: the compile succeeds only if gcc gets these exact bytes.
  const cpath = `CPATH=${proj}/$'inc\\xe9'`;
  const cc = (env: Record<string, string>) => run(["bash", "-c", `cd ${proj} && ${cpath} exec "$0" cc gcc -O2 -c uses-cpath.c -o uses-cpath.o`, gomaBin()], { env });
  const local = await run(["bash", "-c", `cd ${proj} && ${cpath} exec gcc -O2 -c uses-cpath.c -o uses-cpath.o`]);
  assert.equal(local.code, 0, local.stderr);
  const want = readFileSync(join(proj, "uses-cpath.o"));
  const noProxy = mkdtempSync(join(tmpdir(), "goma-e2e-noproxy-"));
  try {
    for (const [label, env] of [["GOMA_DISABLED=1", { ...stack.env, GOMA_DISABLED: "1" }], ["no proxy", { ...stack.env, GOMA_TMP_DIR: noProxy }], ["through the proxy", stack.env]] as const) {
      rmSync(join(proj, "uses-cpath.o"), { force: true });
      const r = await cc(env);
      assert.equal(r.code, 0, `${label}: ${r.stderr}`);
      assert.ok(want.equals(readFileSync(join(proj, "uses-cpath.o"))), `${label}: the object equals a local compile's`);
    }
  } finally {
    rmSync(noProxy, { recursive: true, force: true });
  }
  const task = (await stack.tasks()).find((t) => t.argv.includes("uses-cpath.c"));
  assert.equal(task?.outcome, "local", JSON.stringify(task));
  assert.match(task?.reason ?? "", /^CPATH is not valid UTF-8/);
});
