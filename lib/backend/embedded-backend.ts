/**
 * The embedded REAPI v2 backend: a gRPC server with Capabilities, ContentAddressableStorage,
 * ActionCache, ByteStream and Execution, storing blobs on disk and running actions locally. It lets goma
 * work (and be tested) without Buildbarn, speaking the same protocol, so the REAPI client cannot tell
 * the difference except through Capabilities. Layout under `dataDir`: `cas/` (disk CAS), `ac/` (disk
 * action cache), `exec/` (one directory per running action, cleared at start). The CAS and the action
 * cache share one size limit with LRU eviction (lib/blobstore/size-limit.ts; 10 GiB by default).
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
import { realpath } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { DiskActionCache } from "../blobstore/disk-action-cache.ts";
import { DiskCas } from "../blobstore/disk-cas.ts";
import { CacheSizeLimit, type CacheSizeStats, DEFAULT_CACHE_MAX_BYTES } from "../blobstore/size-limit.ts";
import {
  actionCacheService, byteStreamService, capabilitiesService, casService, executionService, GRPC_OPTIONS,
} from "../reapi/grpc-service.ts";
import { Code, GomaError } from "../util/status.ts";
import { actionCacheHandlers } from "./action-cache-service.ts";
import { byteStreamHandlers } from "./bytestream-service.ts";
import { capabilitiesHandlers } from "./capabilities-service.ts";
import { casHandlers } from "./cas-service.ts";
import { executionHandlers } from "./execution-service.ts";
import { EmbeddedExecutor } from "./executor.ts";
import type { CommandPolicy } from "./command-policy.ts";
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
   * Checks one call's `authorization` metadata (undefined when absent): the reason of the refusal, or
   * undefined to let the call in. Required unless `unauthenticated`.
   */
  authorize?: (authorization: string | undefined) => string | undefined;
  /** Serve without `authorize` (tests only: anyone who reaches the address may then run actions). */
  unauthenticated?: boolean;
  /** Which commands the executor runs (lib/backend/command-policy.ts); default `"toolchain"`. */
  commandPolicy?: CommandPolicy;
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
  /** Stops serving, kills running actions and waits until their directories are removed. */
  close(): Promise<void>;
  /** Integrity and size counters of the stores, for the status page and tests. */
  storeStats(): EmbeddedStoreStats;
}

/** Counters of the embedded stores since start. */
export interface EmbeddedStoreStats {
  /** CAS blobs found corrupt and removed. */
  corruptBlobs: number;
  /** Action-cache entries found corrupt and removed. */
  corruptEntries: number;
  /** The size limit's counters; undefined without a limit. */
  size?: CacheSizeStats & { maxBytes: number };
}

/**
 * Starts the embedded backend (plaintext gRPC; meant for loopback or a unix socket).
 * Spec: REAPI v2 Capabilities, ContentAddressableStorage, ActionCache, Execution; google.bytestream.
 * @throws {GomaError} Unavailable when the address cannot be bound.
 */
export async function startEmbeddedBackend(opts: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  if (!opts.authorize && !opts.unauthenticated) {
    throw new GomaError(Code.FailedPrecondition, "the embedded backend needs an authorize check (or unauthenticated: true, for tests)");
  }
  const cas = await DiskCas.open(join(opts.dataDir, "cas"));
  const ac = await DiskActionCache.open(join(opts.dataDir, "ac"));
  const maxCacheBytes = opts.maxCacheBytes ?? DEFAULT_CACHE_MAX_BYTES;
  const limit = maxCacheBytes > 0 ? await CacheSizeLimit.attach(maxCacheBytes, cas, ac) : undefined;
  const executor = new EmbeddedExecutor({
    cas, ac, execDir: join(opts.dataDir, "exec"),
    concurrency: opts.concurrency ?? availableParallelism(),
    platform: opts.platform ?? { OSFamily: "linux" },
    commandPolicy: opts.commandPolicy, dataDir: await realpath(opts.dataDir),
  });
  await executor.cleanExecDir();
  const inFlight = new Set<Promise<void>>();

  const server = new grpc.Server({ ...GRPC_OPTIONS, interceptors: opts.authorize ? [authInterceptor(opts.authorize)] : [] });
  server.addService(capabilitiesService, capabilitiesHandlers());
  server.addService(casService, casHandlers(cas));
  server.addService(actionCacheService, actionCacheHandlers(cas, ac));
  server.addService(byteStreamService, byteStreamHandlers(cas));
  server.addService(executionService, executionHandlers({ cas, ac, executor, ops: new OperationStore(), inFlight }));

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
    storeStats: () => ({
      corruptBlobs: cas.corruptBlobs,
      corruptEntries: ac.corruptEntries,
      size: limit ? { ...limit.stats(), maxBytes: limit.maxBytes } : undefined,
    }),
    close() {
      closing ??= (async () => {
        server.forceShutdown();
        executor.shutdown();
        await Promise.allSettled([...inFlight]);
      })();
      return closing;
    },
  };
}
