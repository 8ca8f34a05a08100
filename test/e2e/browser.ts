/**
 * A headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) driven through the DevTools
 * protocol over the runtime's built-in WebSocket: enough to load a page, read its DOM with
 * `Runtime.evaluate`, wait for a condition in the page, and take a screenshot.
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
  /** Evaluates `expression` until it is truthy, at most `timeoutMs` (default 30 s); returns the value. @throws on timeout, naming the expression. */
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
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return; // an event
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error.message));
    else p?.resolve(msg.result);
  };
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
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
      await send("Page.navigate", { url }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = await send<{ result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>(
          "Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text} (${expression})`);
        return r.result.value as T;
      };
      return {
        eval: evaluate,
        async waitFor<T>(expression: string, timeoutMs = 30_000): Promise<T> {
          const deadline = Date.now() + timeoutMs;
          let last: unknown;
          for (;;) {
            try {
              last = await evaluate<T>(expression);
              if (last) return last as T;
            } catch (e) {
              last = (e as Error).message; // the page may still be loading
            }
            if (Date.now() > deadline) throw new Error(`page condition not met within ${timeoutMs / 1000} s: ${expression} (last: ${JSON.stringify(last)})`);
            // Next check once the page has rendered another frame (no fixed sleep).
            await evaluate("new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)))").catch(() => undefined);
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
