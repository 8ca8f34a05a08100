/**
 * The dashboard in a real browser: headless Chromium loads http://127.0.0.1:<port>/ after real compiles
 * through the binary, and the test reads the DOM through the DevTools protocol: the task rows, a failed
 * compile's stderr, retries and stage times in its detail, the hit rate, the filters, and a compile made
 * while the page is open appearing without a reload. `GOMA_DASHBOARD_SCREENSHOT=FILE` also writes the
 * screenshot there (docs/dashboard.png is made that way).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";
import { launchBrowser, type Browser } from "./browser.ts";

let stack: GomaStack;
let proj: string;
let browser: Browser | undefined;

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-browser-"));
  writeFileSync(join(proj, "util.h"), "static inline int twice(int x) { return 2 * x; }\n");
  for (const n of ["main", "parse", "lexer"]) writeFileSync(join(proj, `${n}.c`), `#include <stdio.h>\n#include "util.h"\nint ${n}_f(void) { return twice(${n.length}); }\n${n === "main" ? "int main(void) { return 0; }\n" : ""}`);
  writeFileSync(join(proj, "broken.c"), "#include \"util.h\"\nint broken(void) { return twice(undeclared_thing); }\n");
  writeFileSync(join(proj, "fresh.c"), "int fresh(void) { return 7; }\n");
  const cc = (args: string[]) => run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });
  for (const n of ["main", "parse", "lexer"]) assert.equal((await cc(["gcc", "-O2", "-c", `${n}.c`, "-o", `${n}.o`])).code, 0);
  rmSync(join(proj, "parse.o"));
  assert.equal((await cc(["gcc", "-O2", "-c", "parse.c", "-o", "parse.o"])).code, 0); // a cache hit
  assert.notEqual((await cc(["gcc", "-O2", "-c", "broken.c", "-o", "broken.o"])).code, 0);
  assert.equal((await cc(["gcc", "main.o", "parse.o", "lexer.o", "-o", "prog"])).code, 0);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

const rowsText = `Array.from(document.querySelectorAll("#tasks-body tr")).map((tr) => tr.innerText)`;

test("Chromium shows the task rows, a failed compile's stderr with retries and stages, the hit rate, live updates and filters", async () => {
  const page = await browser!.open(`http://127.0.0.1:${stack.dashboardPort}/`);
  // The link is reported by goma cc after it exits: wait for all six rows.
  await page.waitFor(`document.querySelectorAll("#tasks-body tr").length >= 6`);
  const rows = await page.eval<string[]>(rowsText);
  assert.ok(rows.some((r) => /\bremote\b/.test(r) && /gcc main\.c/.test(r)), rows.join("\n"));
  assert.ok(rows.some((r) => /cache hit/.test(r) && /gcc parse\.c/.test(r)), rows.join("\n"));
  assert.ok(rows.some((r) => /remote, exit 1/.test(r) && /broken\.c/.test(r) && /undeclared_thing/.test(r)), rows.join("\n"));
  assert.ok(rows.some((r) => /local at once/.test(r) && /not a compile/.test(r)), rows.join("\n"));
  assert.match(await page.eval<string>(`document.getElementById("c-hitrate").textContent`), /^20\.0 %$/);
  assert.equal(await page.eval<string>(`document.getElementById("c-direct").textContent`), "1");
  assert.match(await page.eval<string>(`document.getElementById("health").textContent`), /^ok$/);

  // Live: a compile made while the page is open appears without a reload.
  const loads = await page.eval<number>(`performance.getEntriesByType("navigation").length`);
  assert.equal((await run([gomaBin(), "cc", "gcc", "-c", "fresh.c", "-o", "fresh.o"], { cwd: proj, env: stack.env })).code, 0);
  await page.waitFor(`Array.from(document.querySelectorAll("#tasks-body tr")).some((tr) => /gcc fresh\\.c/.test(tr.innerText) && /remote/.test(tr.innerText))`);
  assert.equal(await page.eval<number>(`performance.getEntriesByType("navigation").length`), loads, "same page, no reload");
  await page.waitFor(`document.getElementById("c-remote").textContent === "5"`);

  // A failed compile's detail: its stderr, retries and stage times.
  await page.eval(`Array.from(document.querySelectorAll("#tasks-body tr")).find((tr) => /broken\\.c/.test(tr.innerText)).click()`);
  await page.waitFor(`!document.getElementById("detail").hidden`);
  const stderr = await page.eval<string>(`document.getElementById("detail-stderr").textContent`);
  assert.match(stderr, /broken\.c:2:\d+: error: .undeclared_thing. undeclared/);
  assert.equal(await page.eval<boolean>(`!document.getElementById("detail-stderr-box").hidden`), true);
  const kv = await page.eval<string>(`document.getElementById("detail-kv").innerText`);
  assert.match(kv, /exit code\s+1/);
  assert.match(kv, /retries\s+\d+/);
  assert.match(kv, /command\s+gcc -O2 -c broken\.c -o broken\.o/);
  const stages = await page.eval<string>(`document.getElementById("detail-stage-text").textContent`);
  assert.match(stages, /flags [\d.]+ ms · info [\d.]+ ms · inputs [\d.]+ ms · request [\d.]+ ms · exec [\d.]+ ms · outputs [\d.]+ ms/);
  assert.equal(await page.eval<number>(`document.querySelectorAll("#detail-stages span").length`), 6);

  const shot = await page.screenshot();
  assert.deepEqual([...shot.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
  if (process.env.GOMA_DASHBOARD_SCREENSHOT) writeFileSync(process.env.GOMA_DASHBOARD_SCREENSHOT, shot);

  // Filters: by outcome, and by text.
  await page.eval(`(() => { const s = document.getElementById("f-outcome"); s.value = "error"; s.dispatchEvent(new Event("change")); })()`);
  const errors = await page.eval<string[]>(rowsText);
  assert.equal(errors.length, 1, errors.join("\n"));
  assert.match(errors[0]!, /broken\.c/);
  await page.eval(`(() => { const s = document.getElementById("f-outcome"); s.value = "cacheHit"; s.dispatchEvent(new Event("change")); })()`);
  assert.deepEqual((await page.eval<string[]>(rowsText)).map((r) => /gcc parse\.c/.test(r)), [true]);
  await page.eval(`(() => { const s = document.getElementById("f-outcome"); s.value = "all"; s.dispatchEvent(new Event("change"));
    const t = document.getElementById("f-text"); t.value = "lexer"; t.dispatchEvent(new Event("input")); })()`);
  const lexer = await page.eval<string[]>(rowsText);
  assert.equal(lexer.length, 2, lexer.join("\n")); // its compile, and the link that names lexer.o
  assert.ok(lexer.every((r) => /lexer/.test(r) || /local at once/.test(r)));
});
