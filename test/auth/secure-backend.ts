/**
 * A REAPI backend for credential tests: the embedded backend's real services (CAS, action cache,
 * ByteStream, Execution running actions locally, Capabilities) behind grpc-js TLS (optionally requiring
 * a client certificate) and a bearer-token check, like a Buildbarn with TLS and JWT authentication.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildStoreStack } from "../../lib/blobstore/store-stack.ts";
import { EmbeddedExecutor } from "../../lib/backend/executor.ts";
import { OperationStore } from "../../lib/backend/operation-store.ts";
import { capabilitiesHandlers } from "../../lib/backend/capabilities-service.ts";
import { casHandlers } from "../../lib/backend/cas-service.ts";
import { actionCacheHandlers } from "../../lib/backend/action-cache-service.ts";
import { byteStreamHandlers } from "../../lib/backend/bytestream-service.ts";
import { executionHandlers } from "../../lib/backend/execution-service.ts";
import {
  actionCacheService, byteStreamService, capabilitiesService, casService, executionService, GRPC_OPTIONS,
} from "../../lib/reapi/grpc-service.ts";

/** Options of {@link startSecureBackend}. */
export interface SecureBackendOptions {
  dataDir: string;
  /** Server certificate and key; undefined: plaintext. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Bearer token accepted; a function so tests can rotate it. Undefined: no check. */
  token?: () => string | undefined;
}

/** A running backend. `seenTokens` lists the bearer tokens received (for rotation tests). */
export interface SecureBackend {
  address: string;
  seenTokens: string[];
  close(): Promise<void>;
}

type Impl = grpc.UntypedServiceImplementation;

function guard(impl: Impl, check: (md: grpc.Metadata) => string | undefined): Impl {
  const out: Impl = {};
  for (const [name, fn] of Object.entries(impl)) {
    out[name] = ((call: { metadata: grpc.Metadata; emit(e: string, v: unknown): void }, cb?: (e: unknown) => void) => {
      const why = check(call.metadata);
      if (!why) return (fn as (c: unknown, cb?: unknown) => void)(call, cb);
      const err = { code: grpc.status.UNAUTHENTICATED, details: why };
      if (typeof cb === "function") cb(err);
      else call.emit("error", err);
    }) as grpc.UntypedHandleCall;
  }
  return out;
}

/** Starts the backend on 127.0.0.1 (an ephemeral port). */
export async function startSecureBackend(opts: SecureBackendOptions): Promise<SecureBackend> {
  const { cas, ac } = await buildStoreStack({ dir: opts.dataDir, maxBytes: 0 });
  const executor = new EmbeddedExecutor({ cas, ac, execDir: join(opts.dataDir, "exec"), dataDir: opts.dataDir, concurrency: 2, platform: { OSFamily: "linux" }, commandPolicy: "any" });
  await executor.cleanExecDir();
  const inFlight = new Set<Promise<void>>();
  const seenTokens: string[] = [];
  const check = (md: grpc.Metadata): string | undefined => {
    const want = opts.token?.();
    if (want === undefined) return undefined;
    const got = String(md.get("authorization")[0] ?? "");
    const tok = got.replace(/^Bearer /, "");
    if (got && !seenTokens.includes(tok)) seenTokens.push(tok);
    if (!got) return "missing authorization metadata";
    return tok === want ? undefined : "invalid bearer token";
  };
  const server = new grpc.Server(GRPC_OPTIONS);
  server.addService(capabilitiesService, guard(capabilitiesHandlers(), check));
  server.addService(casService, guard(casHandlers(cas), check));
  server.addService(actionCacheService, guard(actionCacheHandlers(cas, ac), check));
  server.addService(byteStreamService, guard(byteStreamHandlers(cas), check));
  server.addService(executionService, guard(executionHandlers({ cas, ac, executor, ops: new OperationStore(), inFlight }), check));
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(opts.tls.clientCa ? readFileSync(opts.tls.clientCa) : null,
      [{ cert_chain: readFileSync(opts.tls.cert), private_key: readFileSync(opts.tls.key) }], Boolean(opts.tls.clientCa))
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    seenTokens,
    async close() {
      server.forceShutdown();
      executor.shutdown();
      await Promise.allSettled([...inFlight]);
    },
  };
}
