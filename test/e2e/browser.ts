/**
 * A headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) driven through the DevTools
 * protocol over the runtime's built-in WebSocket: enough to load a page, read its DOM with
 * `Runtime.evaluate`, wait for a condition in the page (a MutationObserver there resolves the evaluation
 * when it holds: no polling), and take a screenshot.
 *
 *   const b = await launchBrowser();
 *   const page = await b.open("http://127.0.0.1:8088/");
 *   await page.waitFor("document.querySelectorAll('tr').length > 2");
 *   await b.close();
 *
 * Chromium runs with its own temp profile, on loopback only (`--remote-debugging-port=0`: it picks a
 * port and prints `DevTools listening on ws://…`, which is what we wait for: no polling for readiness).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One page (a CDP session attached to a tab). */
export interface Page {
  /** Evaluates `expression` in the page and returns its value (JSON-serializable results only). @throws on a page exception. */
  eval<T = unknown>(expression: string): Promise<T>;
  /**
   * Waits in the page until `expression` is truthy (re-checked on each DOM mutation), at most `timeoutMs`
   * (default 30 s); returns its value. @throws on timeout, naming the expression and its last value.
   */
  waitFor<T = unknown>(expression: string, timeoutMs?: number): Promise<T>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Uint8Array>;
}

/** A running browser. */
export interface Browser {
  open(url: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** Kills Chromium and removes its profile. Safe to call twice. */
  close(): Promise<void>;
}

const LAUNCH_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 30_000;

/** Starts `chromium --headless`. @throws when it is not installed or does not start within 60 s (with its output). */
export async function launchBrowser(binary = process.env.CHROMIUM_BIN || "chromium"): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "goma-chromium-"));
  const child: ChildProcess = spawn(binary, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    `--user-data-dir=${profile}`, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const wsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start within ${LAUNCH_TIMEOUT_MS / 1000} s:\n${log.slice(-3000)}`)), LAUNCH_TIMEOUT_MS);
    child.stderr!.on("data", (b: Buffer) => {
      log += b.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary} (install Debian's chromium: bash scripts/setup.sh): ${e.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited ${code} before it was ready:\n${log.slice(-3000)}`));
    });
  });
  child.removeAllListeners("exit");
  child.stderr!.removeAllListeners("data");
  child.stderr!.resume();

  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Who waits for which event (`Page.loadEventFired`, …) of which session; each is called once. */
  const eventWaiters: { method: string; sessionId?: string; fire: () => void }[] = [];
  /** Resolves at the next `method` event of `sessionId`, or after `timeoutMs` (a failure guard only). */
  const nextEvent = (method: string, sessionId: string, timeoutMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const w = { method, sessionId, fire: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        eventWaiters.splice(eventWaiters.indexOf(w), 1);
        resolve();
      }, Math.max(0, timeoutMs));
      eventWaiters.push(w);
    });
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; method?: string; sessionId?: string; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) {
      for (const w of eventWaiters.filter((x) => x.method === msg.method && x.sessionId === msg.sessionId)) {
        eventWaiters.splice(eventWaiters.indexOf(w), 1);
        w.fire();
      }
      return;
    }
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error.message));
    else p?.resolve(msg.result);
  };
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = CALL_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      pending.set(id, { resolve: (v) => (clearTimeout(timer), resolve(v as T)), reject: (e) => (clearTimeout(timer), reject(e)) });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  let closed = false;
  return {
    async open(url, viewport = { width: 1280, height: 800 }) {
      const { targetId } = await send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
      await send("Emulation.setDeviceMetricsOverride", { ...viewport, deviceScaleFactor: 1, mobile: false }, sessionId);
      await send("Page.enable", {}, sessionId);
      const loaded = nextEvent("Page.loadEventFired", sessionId, CALL_TIMEOUT_MS);
      await send("Page.navigate", { url }, sessionId);
      await loaded;
      const evaluate = async <T>(expression: string, timeoutMs = CALL_TIMEOUT_MS): Promise<T> => {
        const r = await send<{ result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>(
          "Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId, timeoutMs);
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text} (${expression})`);
        return r.result.value as T;
      };
      return {
        eval: evaluate,
        async waitFor<T>(expression: string, timeoutMs = 30_000): Promise<T> {
          // The page itself waits: a MutationObserver re-checks the condition on every change of the DOM
          // and resolves the evaluation once it holds; the timer there is only the failure guard.
          const deadline = Date.now() + timeoutMs;
          let last: unknown;
          for (;;) {
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`page condition not met within ${timeoutMs / 1000} s: ${expression} (last: ${JSON.stringify(last)})`);
            try {
              const r = await evaluate<{ ok: boolean; value?: T; last?: string }>(inPageWait(expression, left), left + CALL_TIMEOUT_MS);
              if (r.ok) return r.value as T;
              last = r.last;
            } catch (e) {
              // The document went away under the wait (a reload): wait for the next one to load, then again.
              last = (e as Error).message;
              await nextEvent("Page.loadEventFired", sessionId, deadline - Date.now());
            }
          }
        },
        async screenshot() {
          const { data } = await send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId);
          return new Uint8Array(Buffer.from(data, "base64"));
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        ws.close();
      } catch {
        // already closed
      }
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page-side expression: a Promise that resolves `{ ok: true, value }` as soon as `expression` is truthy
 * (checked at once, then on every DOM mutation), or `{ ok: false, last }` after `timeoutMs` with the
 * last value or exception. The condition's value must be JSON-serializable.
 */
function inPageWait(expression: string, timeoutMs: number): string {
  return `new Promise((resolve) => {
    let last;
    const check = () => {
      try {
        const value = (${expression});
        if (value) {
          obs.disconnect();
          clearTimeout(timer);
          resolve({ ok: true, value });
          return;
        }
        last = String(value);
      } catch (e) {
        last = String(e);
      }
    };
    const obs = new MutationObserver(check);
    const timer = setTimeout(() => { obs.disconnect(); resolve({ ok: false, last }); }, ${Math.ceil(timeoutMs)});
    obs.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    check();
  })`;
}
