/**
 * Test helper: a `goma proxy` with extra environment (e.g. GOMA_HTTP_AUTHORIZATION_FILE) next to a stack
 * started with `startStack({ proxy: false })`. stop() stops it with `goma proxy stop`.
 */
import { gomaBin, run, type GomaStack } from "../e2e/harness.ts";

/** A running proxy of a test. */
export interface TestProxy {
  env: Record<string, string>;
  stats(): Promise<Record<string, unknown>>;
  tasks(): Promise<{ outcome?: string; reason?: string; stages: Record<string, number> }[]>;
  stop(): Promise<void>;
}

/** Starts `goma proxy start` with the stack's env plus `extra`; rejects with its output when it fails. */
export async function startProxyWith(stack: GomaStack, extra: Record<string, string>): Promise<TestProxy> {
  const env = { ...stack.env, ...extra };
  const r = await run([gomaBin(), "proxy", "start"], { env });
  if (r.code !== 0) throw new Error(`goma proxy start exited ${r.code}\n${r.stdout}${r.stderr}`);
  const base = `http://127.0.0.1:${stack.dashboardPort}`;
  return {
    env,
    stats: async () => JSON.parse((await run([gomaBin(), "proxy", "status", "--json"], { env })).stdout),
    tasks: async () => (await fetch(`${base}/api/tasks`)).json() as Promise<{ outcome?: string; reason?: string; stages: Record<string, number> }[]>,
    stop: async () => {
      await run([gomaBin(), "proxy", "stop"], { env });
    },
  };
}
