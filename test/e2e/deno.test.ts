/**
 * "Deno-compatible" (DEVELOPERS.md): the library runs under `deno run -A` unchanged, with node: fallbacks
 * where goma uses Bun-only fast paths. The server (with its embedded backend) and the proxy run under Deno
 * from the sources; the compiled `goma cc` sends a real compile through both, and the object equals a
 * local compile's.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gomaBin, run } from "./harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DENO = join(REPO, "node_modules", ".bin", "deno");
const work = mkdtempSync(join(tmpdir(), "goma-deno-"));
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) c.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

/** Starts `deno run -A cmd/goma.ts <args>` and resolves with the first stdout line matching `ready`. */
function denoGoma(args: string[], env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(DENO, ["run", "-A", join(REPO, "cmd", "goma.ts"), ...args], {
    env: { ...process.env, DENO_DIR: join(tmpdir(), "goma-deno-cache"), NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve_, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => ready.test(l));
      if (line) resolve_(line);
    });
    child.stderr!.on("data", (c: Buffer) => void (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`deno ${args.join(" ")} exited ${code}:\n${out}\n${err}`)));
  });
}

test("goma server and goma proxy run under deno; a compile through them equals a local one", async () => {
  const line = await denoGoma(["server", "--port", "0", "--cache-dir", join(work, "server")], {}, /listening on http:\/\/127\.0\.0\.1:\d+/);
  const port = /127\.0\.0\.1:(\d+)/.exec(line)![1]!;
  const env = {
    GOMA_SERVER_PORT: port,
    GOMA_TMP_DIR: join(work, "tmp"),
    GOMA_CACHE_DIR: join(work, "cache"),
    GOMA_COMPILER_PROXY_PORT: "0",
  };
  await denoGoma(["proxy", "run"], env, /goma proxy ready/);

  const proj = join(work, "proj");
  mkdirSync(join(proj, "inc"), { recursive: true });
  writeFileSync(join(proj, "inc", "v.h"), "#define V 7\n");
  writeFileSync(join(proj, "m.c"), '#include <stdio.h>\n#include "v.h"\nint main(void) { printf("%d\\n", V); return 0; }\n');
  const args = ["gcc", "-g", "-O2", "-Iinc", "-c", "m.c", "-o", "m.o"];
  const r = await run([gomaBin(), "cc", ...args], { cwd: proj, env: { ...process.env as Record<string, string>, ...env } });
  assert.equal(r.code, 0, r.stderr);
  const status = await run([gomaBin(), "proxy", "status", "--json"], { env: { ...process.env as Record<string, string>, ...env } });
  const s = JSON.parse(status.stdout) as Record<string, number>;
  assert.equal(s.remote, 1, `the compile ran remotely through the deno server (${status.stdout})`);
  const remote = readFileSync(join(proj, "m.o"));
  rmSync(join(proj, "m.o"));
  assert.equal((await run(args, { cwd: proj })).code, 0);
  assert.ok(remote.equals(readFileSync(join(proj, "m.o"))), "m.o differs from a local compile");
});
