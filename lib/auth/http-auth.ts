/**
 * The auth layer in front of the Goma HTTP handler: `(next) => handler` middleware (reference/style.md
 * §5.3). Every path under `/cxx-compiler-service/` (ping included, as remoteexec_proxy) and under `/api/`
 * needs a valid token; `/healthz` and the status page `/` do not (load balancers, humans). A refusal is
 * HTTP 401 `auth failed: <reason>` before the handler runs (reference/goma-protocol.md §1.4), logged
 * with its reason and path, never with the token; at most 5 such lines a minute (lib/util/log-throttle.ts),
 * while `counters.authFailures` counts every one.
 *
 * It also answers `GET /cxx-compiler-service/auth/info`: who the server thinks the caller is, as JSON
 * `{"user": "alice", "source": "signed-token", "expiresAt": "2026-12-21T…Z"}` (200), or the 401.
 * Without an authenticator (auth disabled) every request passes and auth/info says
 * `{"user": null, "auth": "disabled"}`.
 */
import { log } from "../util/log.ts";
import type { Authenticator } from "./server-auth.ts";
import { LogThrottle } from "../util/log-throttle.ts";

/** A web-standard handler. */
export type Handler = (req: Request) => Promise<Response>;

/** Path of the who-am-I endpoint. */
export const AUTH_INFO_PATH = "/cxx-compiler-service/auth/info";

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v) + "\n", { status, headers: { "content-type": "application/json" } });

/** True for paths that need a token. */
export function needsAuth(pathname: string): boolean {
  return pathname.startsWith("/cxx-compiler-service/") || pathname.startsWith("/api/");
}

/**
 * Wraps `next` with the auth check.
 * @param auth the authenticator, or undefined when the server runs without auth.
 * @param counters incremented per refusal (shown on the status page).
 */
export function withAuth(auth: Authenticator | undefined, next: Handler, counters: { authFailures: number } = { authFailures: 0 }): Handler {
  const throttle = new LogThrottle({ what: "auth failures" });
  return async (req) => {
    const url = new URL(req.url);
    if (!needsAuth(url.pathname)) return next(req);
    if (!auth) {
      if (url.pathname === AUTH_INFO_PATH) return json({ user: null, auth: "disabled" });
      return next(req);
    }
    const r = auth.check(req.headers.get("authorization"));
    if (!r.ok) {
      counters.authFailures++;
      for (const line of throttle.lines(`auth failed for ${req.method} ${url.pathname}: ${r.reason}`)) log.warn(line);
      return new Response(`auth failed: ${r.reason}\n`, {
        status: 401,
        headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="goma"' },
      });
    }
    if (url.pathname === AUTH_INFO_PATH) {
      return json({ user: r.user, source: r.source, expiresAt: r.expiresAt ? new Date(r.expiresAt * 1000).toISOString() : null });
    }
    return next(req);
  };
}
