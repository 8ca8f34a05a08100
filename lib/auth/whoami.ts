/**
 * Asks `goma server` who it thinks we are: `GET {base}/auth/info` (lib/auth/http-auth.ts) with the
 * Authorization header the proxy would send (lib/auth/client-auth.ts). Used by `goma auth info`,
 * `goma auth login` and `goma doctor`.
 */
import { serverAddressFromEnv, serverBaseUrl as baseUrlOf } from "../config/server-address.ts";
import { resolveClientAuthorization, type ClientAuthorization } from "./client-auth.ts";
import type { Env } from "./token-store.ts";

/** What the server answered. `status` 0: no HTTP answer (`error` says why). */
export interface WhoAmI {
  url: string;
  auth: ClientAuthorization;
  status: number;
  /** On 200: the user, or null when the server runs without auth. */
  user?: string | null;
  /** On 200: `tokens-file`, `signed-token`, or undefined (auth disabled). */
  tokenSource?: string;
  expiresAt?: string | null;
  /** The server's text on other statuses (e.g. `auth failed: unknown token: …`), or the network error. */
  error?: string;
}

/** The server's base URL (scheme, host, port, path prefix) from GOMA_* variables. */
export function serverBaseUrl(env: Env): string {
  return baseUrlOf(serverAddressFromEnv(env));
}

/**
 * Calls auth/info. Never throws for network or HTTP failures (they are in the result).
 * @throws {GomaError} InvalidArgument for malformed GOMA_SERVER_PORT / GOMA_USE_SSL.
 */
export async function whoAmI(env: Env, timeoutMs = 10_000): Promise<WhoAmI> {
  const url = `${serverBaseUrl(env)}/auth/info`;
  const auth = resolveClientAuthorization(env);
  const out: WhoAmI = { url, auth, status: 0 };
  if (auth.error) {
    out.error = auth.error;
    return out;
  }
  try {
    const res = await fetch(url, { headers: auth.header ? { authorization: auth.header } : {}, signal: AbortSignal.timeout(timeoutMs) });
    out.status = res.status;
    const text = await res.text();
    if (res.status === 200) {
      try {
        const j = JSON.parse(text) as { user?: string | null; source?: string; expiresAt?: string | null };
        out.user = j.user ?? null;
        out.tokenSource = j.source;
        out.expiresAt = j.expiresAt ?? null;
      } catch {
        out.status = -200;
        out.error = `the answer is not goma's auth/info JSON (is ${url} a goma server?): ${text.slice(0, 200)}`;
      }
    } else {
      out.error = text.trim().slice(0, 500) || `HTTP ${res.status}`;
    }
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}
