/**
 * The embedded REAPI v2 backend: a gRPC server with Capabilities, ContentAddressableStorage,
 * ActionCache, ByteStream and Execution, storing blobs on disk and running actions locally. It lets goma
 * work (and be tested) without Buildbarn, speaking the same protocol, so the REAPI client cannot tell
 * the difference except through Capabilities. Layout under `dataDir`: `cas/` (disk CAS), `ac/` (disk
 * action cache), `exec/` (one directory per running action, cleared at start). The CAS and the action
 * cache share one size limit with LRU eviction (lib/blobstore/size-limit.ts; 10 GiB by default); the
 * store stack is built by lib/blobstore/store-stack.ts, and the services see only its `Cas` and
 * `ActionCache` interfaces.
 *
 * Who may call it: every call on every service carries `authorization: Bearer <token>` checked by
 * `authorize` (goma server passes the credentials of its Goma port plus a token of its own), answered
 * UNAUTHENTICATED otherwise, before any handler runs. Serving without that check is refused unless the
 * caller says `unauthenticated: true` (tests of the REAPI semantics), so no TCP port ever lets anyone
 * who can connect run actions.
 *
 * Spec: REAPI v2 services; reference/reapi-buildbarn.md §4.6.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { mkdir, realpath } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { DEFAULT_CACHE_MAX_BYTES } from "../blobstore/size-limit.ts";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import { buildStoreStack, type StoreStats } from "../blobstore/store-stack.ts";
import {
  actionCacheService, byteStreamService, capabilitiesService, casService, executionService, GRPC_OPTIONS,
} from "../reapi/grpc-service.ts";
import { InProcessServer } from "../reapi/in-process-server.ts";
import { Code, GomaError } from "../util/status.ts";
import { actionCacheHandlers } from "./action-cache-service.ts";
import { byteStreamHandlers } from "./bytestream-service.ts";
import { capabilitiesHandlers } from "./capabilities-service.ts";
import { casHandlers } from "./cas-service.ts";
import { executionHandlers } from "./execution-service.ts";
import { EmbeddedExecutor } from "./executor.ts";
import type { CommandPolicy } from "./command-policy.ts";
import { detectSandbox, type Sandbox, type SandboxMode } from "./sandbox.ts";
import { removeTree } from "./action-runner.ts";
import { log } from "../util/log.ts";
import { OperationStore } from "./operation-store.ts";

/**
 * Where and how to run the embedded backend.
 * Spec: REAPI Platform properties (exact match, reference/reapi-buildbarn.md §3).
 */
export interface EmbeddedBackendOptions {
  /** Root of the backend's state: `cas/`, `ac/` and `exec/` are created beneath it. */
  dataDir: string;
  /** gRPC listen address; default `"127.0.0.1:0"` (an ephemeral port). `"unix:/path"` also works. */
  address?: string;
  /** Actions running at once; default `os.availableParallelism()`. */
  concurrency?: number;
  /** Platform properties this worker offers; default `{ OSFamily: "linux" }`. */
  platform?: Record<string, string>;
  /**
   * Size limit of `cas/` and `ac/` together, bytes (4 KiB blocks counted); least recently used entries
   * are evicted beyond it. Default {@link DEFAULT_CACHE_MAX_BYTES} (10 GiB); 0: no limit.
   */
  maxCacheBytes?: number;
  /**
   * Keep the CAS and the action cache in memory (lib/blobstore/memory-cas.ts; tests): nothing is written
   * under `cas/` or `ac/`, and nothing survives close(). `maxCacheBytes` still applies. Default false.
   */
  inMemoryStores?: boolean;
  /**
   * Checks one call's `authorization` metadata (undefined when absent): the reason of the refusal, or
   * undefined to let the call in. Required unless `unauthenticated`.
   */
  authorize?: (authorization: string | undefined) => string | undefined;
  /** Serve without `authorize` (tests only: anyone who reaches the address may then run actions). */
  unauthenticated?: boolean;
  /** Which commands the executor runs (lib/backend/command-policy.ts); default `"toolchain"`. */
  commandPolicy?: CommandPolicy;
  /** Whether actions run under bubblewrap (lib/backend/sandbox.ts); default `"auto"`. */
  sandbox?: SandboxMode;
  /**
   * Directories of the server's own state (goma server's cache dir): like `dataDir`, no compiler may
   * be pointed into them (lib/backend/command-policy.ts).
   */
  serverDirs?: string[];
  /** Directories the workers provide (goma server's --env-prefix); default lib/server/exec-root.ts's. */
  envPrefixes?: string[];
  /**
   * Stores of record behind the local ones (store-stack.ts's read-through): a remote REAPI service's CAS
   * and action cache (lib/blobstore/remote-cas.ts, `goma server --remote-cache-addr`). Every write goes
   * there; local misses are filled from there.
   */
  slow?: { cas: Cas; ac: ActionCache };
}

/**
 * A grpc-js server interceptor that answers UNAUTHENTICATED (with the reason) to any call whose
 * `authorization` metadata `authorize` refuses; the handler never runs for such a call.
 */
export function authInterceptor(authorize: (authorization: string | undefined) => string | undefined): grpc.ServerInterceptor {
  return (_method, call) => new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, mdNext) {
          const v = metadata.get("authorization")[0];
          let refusal: string | undefined;
          try {
            refusal = authorize(typeof v === "string" ? v : undefined);
          } catch (e) {
            refusal = `auth check failed: ${(e as Error).message}`;
          }
          if (refusal === undefined) mdNext(metadata);
          else call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: `auth failed: ${refusal}`, metadata: new grpc.Metadata() });
        },
      });
    },
  });
}

/**
 * A running embedded backend.
 * Spec: gRPC target syntax for `address` ("host:port" or "unix:/path").
 */
export interface EmbeddedBackend {
  /** The bound address, e.g. `"127.0.0.1:34567"` (the real port when 0 was asked). */
  address: string;
  /** The sandbox actions run in (kind `"none"`: unsandboxed, with the reason in `describe`). */
  sandbox: Sandbox;
  /**
   * The same services for callers in this process (goma server's REAPI client): no channel, same
   * handlers, messages, statuses and `authorize` check (lib/reapi/in-process-server.ts).
   */
  inProcess: InProcessServer;
  /** Stops serving, kills running actions and waits until their directories are removed. */
  close(): Promise<void>;
  /** Integrity and size counters of the stores, for the status page and tests. */
  storeStats(): EmbeddedStoreStats;
}

/** Counters of the embedded stores since start (lib/blobstore/store-stack.ts). */
export type EmbeddedStoreStats = StoreStats;

/**
 * Starts the embedded backend (plaintext gRPC; meant for loopback or a unix socket).
 * Spec: REAPI v2 Capabilities, ContentAddressableStorage, ActionCache, Execution; google.bytestream.
 * @throws {GomaError} Unavailable when the address cannot be bound.
 */
export async function startEmbeddedBackend(opts: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  if (!opts.authorize && !opts.unauthenticated) {
    throw new GomaError(Code.FailedPrecondition, "the embedded backend needs an authorize check (or unauthenticated: true, for tests)");
  }
  const stores = await buildStoreStack({ dir: opts.dataDir, maxBytes: opts.maxCacheBytes ?? DEFAULT_CACHE_MAX_BYTES, inMemory: opts.inMemoryStores, slow: opts.slow });
  const { cas, ac } = stores;
  await mkdir(opts.dataDir, { recursive: true }); // the disk stores created it; memory ones do not
  const dataDir = await realpath(opts.dataDir);
  const probe = join(dataDir, "exec", "sandbox-probe");
  await removeTree(join(dataDir, "exec"));
  await mkdir(probe, { recursive: true });
  const sandbox = await detectSandbox(opts.sandbox ?? "auto", dataDir, probe);
  await removeTree(probe);
  if (sandbox.kind === "none" && opts.sandbox === "required") {
    throw new GomaError(Code.FailedPrecondition, `the embedded backend cannot sandbox actions: ${sandbox.describe.replace(/^none: /, "")}`);
  }
  if (sandbox.kind === "none" && opts.sandbox !== "off") log.warn(`embedded backend: no sandbox: ${sandbox.describe.replace(/^none: /, "")}`);
  const executor = new EmbeddedExecutor({
    cas, ac, execDir: join(opts.dataDir, "exec"),
    concurrency: opts.concurrency ?? availableParallelism(),
    platform: opts.platform ?? { OSFamily: "linux" },
    commandPolicy: opts.commandPolicy, dataDir, sandbox, envPrefixes: opts.envPrefixes,
    // As given and as resolved: a compiler sees the action directory under the path as given.
    serverDirs: [opts.dataDir, ...await Promise.all((opts.serverDirs ?? []).flatMap((d) => [d, realpath(d).catch(() => d)]))],
  });
  await executor.cleanExecDir();
  const inFlight = new Set<Promise<void>>();

  const server = new grpc.Server({ ...GRPC_OPTIONS, interceptors: opts.authorize ? [authInterceptor(opts.authorize)] : [] });
  const inProcess = new InProcessServer({ authorize: opts.authorize });
  const services: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][] = [
    [capabilitiesService, capabilitiesHandlers()],
    [casService, casHandlers(cas)],
    [actionCacheService, actionCacheHandlers(cas, ac)],
    [byteStreamService, byteStreamHandlers(cas)],
    [executionService, executionHandlers({ cas, ac, executor, ops: new OperationStore(), inFlight })],
  ];
  for (const [def, impl] of services) {
    server.addService(def, impl);
    inProcess.addService(def, impl);
  }

  const requested = opts.address ?? "127.0.0.1:0";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(requested, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(new GomaError(Code.Unavailable, `Failed to listen on "${requested}": ${err.message}`, { cause: err }));
      else resolve(p);
    });
  });
  const address = requested.startsWith("unix:") ? requested : requested.replace(/:\d+$/, `:${port}`);

  let closing: Promise<void> | undefined;
  return {
    address,
    storeStats: () => stores.stats(),
    sandbox,
    inProcess,
    close() {
      closing ??= (async () => {
        server.forceShutdown();
        inProcess.shutdown();
        executor.shutdown();
        await Promise.allSettled([...inFlight]);
      })();
      return closing;
    },
  };
}
