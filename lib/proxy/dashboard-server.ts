/**
 * The proxy's HTTP server on 127.0.0.1: the dashboard, its JSON API and /metrics (the handler comes
 * from lib/proxy/dashboard.ts). Goma's compiler_proxy takes GOMA_COMPILER_PROXY_PORT (8088), else the
 * next free port above it; so does this.
 */
import { serveHttp, type HttpServer } from "../platform/serve.ts";
import { DEFAULTS } from "../config/goma-env.ts";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";

/**
 * Serves `handler` on 127.0.0.1 at `basePort`, else at the first free one of the next
 * {@link DEFAULTS.dashboardPortsTried} − 1 ports (each taken port logged as a warning). Port 0 takes any
 * free port, once.
 * @param basePort GOMA_COMPILER_PROXY_PORT (lib/config/proxy-config.ts `ProxyConfig.dashboardPort`).
 * @throws {GomaError} FailedPrecondition `dashboard ports 8088..8097 are all taken (GOMA_COMPILER_PROXY_PORT)`.
 */
export async function serveDashboard(handler: (req: Request) => Promise<Response>, basePort: number): Promise<HttpServer> {
  const last = basePort + DEFAULTS.dashboardPortsTried - 1;
  for (let p = basePort; p <= last; p++) {
    try {
      return await serveHttp({ hostname: "127.0.0.1", port: p, handler });
    } catch (e) {
      log.warn(`dashboard port ${p}: ${(e as Error).message}`);
      if (basePort === 0) break;
    }
  }
  throw new GomaError(Code.FailedPrecondition, `dashboard ports ${basePort}..${last} are all taken (GOMA_COMPILER_PROXY_PORT)`);
}
