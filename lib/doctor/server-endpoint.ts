/**
 * `GET /api/doctor/backend` on `goma server`: runs lib/doctor/backend-checks.ts with the server's own
 * backend address, credentials, instance name and platform, on a fresh REAPI client (so a cached
 * connection or capabilities answer cannot hide a problem), and answers
 * `{"checks": CheckResult[]}` (application/json, 200 even when checks fail). Behind the auth layer
 * like every `/api/` path (lib/auth/http-auth.ts).
 */
import type { ReapiClient } from "../reapi/client.ts";
import { runBackendChecks, type BackendCheckOptions } from "./backend-checks.ts";

/** Path of the endpoint. */
export const DOCTOR_BACKEND_PATH = "/api/doctor/backend";

/**
 * Wraps `next` with the endpoint.
 * @param newClient makes a fresh client with the server's options; closed after the checks.
 */
export function withDoctorEndpoint(
  next: (req: Request) => Promise<Response>, newClient: () => ReapiClient, opts: BackendCheckOptions,
): (req: Request) => Promise<Response> {
  return async (req) => {
    if (new URL(req.url).pathname !== DOCTOR_BACKEND_PATH) return next(req);
    if (req.method !== "GET") return new Response(`method ${req.method} not allowed on ${DOCTOR_BACKEND_PATH}\n`, { status: 405 });
    const client = newClient();
    try {
      const checks = await runBackendChecks(client, opts);
      return new Response(JSON.stringify({ checks }) + "\n", { headers: { "content-type": "application/json" } });
    } finally {
      client.close();
    }
  };
}
