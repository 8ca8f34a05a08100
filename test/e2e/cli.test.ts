/**
 * The command line as a user meets it, through the compiled binary: unknown flags and commands refused
 * with one line naming the nearest known one (exit 2), user mistakes in flag values as one line without
 * a stack trace (exit 2), help that names the whole command, and no ANSI colour unless on a terminal
 * without NO_COLOR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run } from "./harness.ts";

const goma = (args: string[], env: Record<string, string> = {}) => run([gomaBin(), ...args], { env });
/** Runs in a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
const onTty = (args: string[], env: Record<string, string> = {}) =>
  run(["script", "-qec", [gomaBin(), ...args].join(" "), "/dev/null"], { env });

const ONE_LINE_USAGE: [string[], RegExp][] = [
  [["server", "--bogus"], /^goma server: unknown flag --bogus \(nearest: --port\); see goma server --help$/],
  [["server", "--prot", "1"], /^goma server: unknown flag --prot \(did you mean --port\?\)/],
  [["proxy", "start", "--bogus"], /^goma proxy start: unknown flag --bogus \(nearest: --[a-z-]+\); see goma proxy start --help$/],
  [["proxy", "stop", "--bogus"], /^goma proxy stop: unknown flag --bogus \(nearest: --help\); see goma proxy stop --help$/],
  [["doctor", "--bogus"], /^goma doctor: unknown flag --bogus \(nearest: --json\); see goma doctor --help$/],
  [["bench", "--bogus"], /^goma bench: unknown flag --bogus \(nearest: --tools\); see goma bench --help$/],
  [["doctor", "--jsn"], /^goma doctor: unknown flag --jsn \(did you mean --json\?\)/],
  [["server", "--platform-property", "nonsense"], /^goma server: --platform-property wants KEY=VALUE, got "nonsense"$/],
  [["server", "--port", "abc"], /^goma server: --port wants a whole number from 0 to 65535, got "abc"$/],
  [["server", "--port", "70000"], /^goma server: --port wants a whole number from 0 to 65535, got "70000"$/],
  [["server", "--exec-concurrency", "-1"], /^goma server: --exec-concurrency wants a whole number/],
  [["server", "--port"], /^goma server: --port needs a value$/],
  [["bogus"], /^goma: unknown command "bogus"; known: cc, proxy, server/],
  [["proxy", "strat"], /^goma proxy: unknown command "strat" \(did you mean "start"\?\)/],
  [["auth", "issue", "--user", "u", "--secret", "/nonexistent/secret", "--expires", "3x"], /^goma auth issue: --expires: Duration must be a number .*got "3x"$/],
  [["server", "--reapi-listen", "nowhere"], /^goma server: --reapi-listen wants HOST:PORT/],
  [["server", "--max-request-bytes", "lots"], /^goma server: --max-request-bytes wants a whole number/],
  [["auth", "new-secret", "--force=yes"], /^goma auth new-secret: --force is a switch and takes no value/],
];

for (const [args, want] of ONE_LINE_USAGE) {
  test(`goma ${args.join(" ")}: one line, exit 2, nothing started`, async () => {
    const r = await goma(args);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, want);
  });
}

test("flags after -- belong to the compile command of goma doctor inputs", async () => {
  const r = await goma(["doctor", "inputs", "--", "gcc", "-c", "nothere.c", "--bogus-gcc-flag"]);
  assert.notEqual(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /see goma doctor inputs --help/);
  assert.match(r.stderr, /locally: unknown flag --bogus-gcc-flag/); // gcc's flag table speaks, not goma's CLI
});

test("help names the whole command and is plain text when stdout is not a terminal", async () => {
  const r = await goma(["proxy", "start", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /USAGE goma proxy start/);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  const top = await goma(["--help"]);
  assert.match(top.stdout, /USAGE goma cc\|proxy\|server\|auth\|doctor\|bench/);
});

test("goma proxy --help lists the GOMA_* variables it reads, with their defaults", async () => {
  const r = await goma(["proxy", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /USAGE goma proxy/);
  assert.match(r.stdout, /^ENVIRONMENT/m);
  for (const [name, dflt] of [["GOMA_SERVER_HOST", "127.0.0.1"], ["GOMA_SERVER_PORT", "5050"], ["GOMA_COMPILER_PROXY_PORT", "8088"], ["GOMA_FALLBACK", "true"]]) {
    assert.match(r.stdout, new RegExp(`^  ${name} .*\\(default: ${dflt}`, "m"), name);
  }
});

test("goma server --help lists the variables it reads besides its flags, and a malformed proxy variable is one line", async () => {
  const r = await goma(["server", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ENVIRONMENT/m);
  assert.match(r.stdout, /^  GOMA_SERVER_CACHE_MAX_SIZE_MB .*\(default: 10240\)/m);
  const p = await goma(["proxy", "run"], { GOMA_TMP_DIR: "/nonexistent/goma-cli-test", GOMA_USE_INCLUDE_PROCESSOR: "perhaps" });
  assert.equal(p.code, 1);
  assert.equal(p.stderr, 'goma proxy: [invalid_argument] GOMA_USE_INCLUDE_PROCESSOR must be true or false, got "perhaps"\n');
});

test("colour only on a terminal, and never with NO_COLOR", async () => {
  // CI=true (as CI runs) also turns colour off, by citty's rule: a terminal without it gets colour.
  const tty = await onTty(["server", "--help"], { CI: "", TEST: "", TERM: "xterm" });
  assert.match(tty.stdout, /\x1b\[/);
  const noColor = await onTty(["server", "--help"], { CI: "", TEST: "", TERM: "xterm", NO_COLOR: "1" });
  assert.match(noColor.stdout, /USAGE goma server/);
  assert.doesNotMatch(noColor.stdout, /\x1b\[/);
});

test("goma bench draws its progress bar only on a terminal without NO_COLOR, else one plain line per step", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-cli-bench-"));
  try {
    writeFileSync(join(dir, "a.c"), "int f(void) { return 1; }\n");
    writeFileSync(join(dir, "Makefile"), "all: a.o\na.o: a.c\n\t$(CC) -c a.c -o a.o\nclean:\n\trm -f a.o\n");
    const args = ["bench", "--tools", "local", "--rounds", "1", "--hit-runs", "1", dir];
    const env = { CI: "", TEST: "", TERM: "xterm" };
    const bar = await onTty(args, env);
    assert.equal(bar.code, 0, bar.stdout);
    assert.match(bar.stdout, /\x1b\[\?25l/, "a terminal gets the bar (cursor hidden while drawing)");
    for (const [what, r] of [
      ["NO_COLOR on a terminal", await onTty(args, { ...env, NO_COLOR: "1" })],
      ["stderr not a terminal", await goma(args, env)],
    ] as const) {
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.doesNotMatch(out, /\x1b\[/, what);
      assert.match(out, /^goma bench: \[1\/2\] .* local build \d+\.\d\d s\r?$/m, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
