/**
 * Bazel (Debian's bazel-bootstrap 4.2, installed by scripts/setup.sh) against the compiled binary's
 * embedded backend on a fixed `--reapi-listen` address, offline: a genrule-only workspace (a WORKSPACE
 * file, no rules_cc/rules_java needed), the per-user local token as
 * `--remote_header=authorization=Bearer <token>`.
 *
 * - remote caching: a genrule runs locally with `--remote_cache`, is uploaded, and after `bazel clean` is
 *   a remote cache hit with the same output;
 * - remote execution: another genrule runs on the embedded worker with `--remote_executor` and
 *   `--remote_default_exec_properties=OSFamily=linux` (needs `--exec-commands any`); without the
 *   property the worker's platform does not match (exact matching, as on Buildbarn), and without the
 *   header the backend answers UNAUTHENTICATED.
 *
 * Bazel runs with --batch (no Bazel server left behind), its own output root in the test's temp dir and
 * --nohome_rc; Debian's /etc/bazel/bazelrc stays (it sets `--install_base=/usr/share/bazel` and the
 * local JDK: with --nosystem_rc Debian's bazel fails with "Failed to open '/proc/self/exe' as a zip file").
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, run, startStack, type GomaStack } from "./harness.ts";

const BAZEL = "/usr/bin/bazel";
const dir = mkdtempSync(join(tmpdir(), "goma-bazel-"));
const ws = join(dir, "ws");
let stack: GomaStack;
let addr: string;
let token: string;

before(async () => {
  addr = `127.0.0.1:${await freePort()}`;
  const config = join(dir, "config");
  stack = await startStack({ proxy: false, serverArgs: ["--reapi-listen", addr, "--exec-commands", "any"], env: { XDG_CONFIG_HOME: config } });
  token = readFileSync(join(config, "goma", "local-token"), "utf8").trim();
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, "WORKSPACE"), 'workspace(name = "goma_bazel_test")\n');
  writeFileSync(join(ws, "in.txt"), `hello from ${dir}\n`);
  writeFileSync(join(ws, "BUILD"), [
    'genrule(name = "cached", srcs = ["in.txt"], outs = ["cached.txt"], cmd = "tr a-z A-Z < $< > $@")',
    'genrule(name = "remote", srcs = ["in.txt"], outs = ["remote.txt"], cmd = "(rev < $<; echo ran-remotely) > $@")',
    "",
  ].join("\n"));
});
after(async () => {
  await stack?.stop().catch(() => {});
  // Bazel's output root holds read-only directories.
  await run(["chmod", "-R", "u+w", dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** `bazel --batch … <cmd> <args>` in the workspace; its output (stderr carries the progress and summary). */
async function bazel(cmd: string, args: string[]) {
  const r = await run([BAZEL, "--batch", `--output_user_root=${join(dir, "root")}`, "--nohome_rc", cmd, ...args], { cwd: ws, env: { HOME: dir } });
  return { ...r, out: r.stdout + r.stderr };
}
const auth = () => `--remote_header=authorization=Bearer ${token}`;

test("Bazel 4.2 uses the embedded backend as its remote cache: upload, then a cache hit after bazel clean", async () => {
  const flags = [`--remote_cache=grpc://${addr}`, "--remote_instance_name=", auth(), "--spawn_strategy=local"];
  const first = await bazel("build", ["//:cached", ...flags]);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /processes: .*1 local/, first.out);
  const expected = `HELLO FROM ${dir.toUpperCase()}\n`;
  assert.equal(readFileSync(join(ws, "bazel-bin", "cached.txt"), "utf8"), expected);
  assert.equal((await bazel("clean", [])).code, 0);
  const second = await bazel("build", ["//:cached", ...flags]);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /processes: .*1 remote cache hit/, second.out);
  assert.equal(readFileSync(join(ws, "bazel-bin", "cached.txt"), "utf8"), expected);
});

test("Bazel 4.2 runs a genrule on the embedded backend; the platform must match exactly and the token is required", async () => {
  const base = [`--remote_executor=grpc://${addr}`, "--remote_instance_name="];
  const noToken = await bazel("build", ["//:remote", ...base, "--remote_default_exec_properties=OSFamily=linux"]);
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.out, /UNAUTHENTICATED|Unauthenticated/, noToken.out);

  const noPlatform = await bazel("build", ["//:remote", ...base, auth()]);
  assert.notEqual(noPlatform.code, 0);
  assert.match(noPlatform.out, /No workers exist for instance name "" platform \{"properties":\[\]\}; this worker offers \{"properties":\[\{"name":"OSFamily","value":"linux"\}\]\}/, noPlatform.out);

  const ok = await bazel("build", ["//:remote", ...base, auth(), "--remote_default_exec_properties=OSFamily=linux"]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /processes: .*1 remote[,.]/, ok.out);
  const reversed = `hello from ${dir}`.split("").reverse().join("");
  assert.equal(readFileSync(join(ws, "bazel-bin", "remote.txt"), "utf8"), `${reversed}\nran-remotely\n`);
});
