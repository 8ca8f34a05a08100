/**
 * A remote REAPI service's CAS and action cache as goma's store interfaces ({@link Cas}, {@link ActionCache}),
 * through the REAPI client (lib/reapi/client.ts): the "slow" stores of record under the embedded backend's
 * local ones (store-stack.ts's read-through), so that `goma server --remote-cache-addr` executes actions
 * itself while their inputs, outputs and results live in a cache-only REAPI service (BuildGrid without a
 * worker, bb_storage alone, any remote cache), where other goma servers (and Bazel) find them.
 *
 * Integrity: the client verifies every blob it reads against its digest (DataLoss otherwise), and
 * {@link RemoteCas.put} checks data against digest before it is sent. A remote store cannot be listed or
 * evicted (no {@link EvictableStore}); its own limits apply. Blobs are held whole in memory on their way
 * (compiles' outputs and sources; the client streams large ones with ByteStream).
 *
 * Spec: REAPI ContentAddressableStorage (FindMissingBlobs, BatchUpdateBlobs/BatchReadBlobs, ByteStream)
 * and ActionCache (GetActionResult, UpdateActionResult); the CAS is the configured instance name's, the
 * action cache is keyed by the instance name each call gives (reference/reapi-buildbarn.md §2.3).
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { ReapiClient, type ReapiClientOptions } from "../reapi/client.ts";
import { Code, GomaError } from "../util/status.ts";
import type { ActionCache, ActionResultMessage, BlobWriter, Cas } from "./cas.ts";
import { MemoryBlobWriter, writeBlobFile } from "./memory-cas.ts";

/** The CAS of a remote REAPI service (one instance name). */
export class RemoteCas implements Cas {
  readonly #client: ReapiClient;

  /** @param client the remote service, bound to the instance name whose CAS this is. */
  constructor(client: ReapiClient) {
    this.#client = client;
  }

  /** Missing from the remote CAS, in the order given, duplicates kept (the empty blob never). */
  async findMissing(digests: Digest[]): Promise<Digest[]> {
    const asked = digests.filter((d) => d.sizeBytes > 0);
    if (!asked.length) return [];
    const missing = new Set((await this.#client.findMissingBlobs(asked)).map(digestKey));
    return asked.filter((d) => missing.has(digestKey(d)));
  }

  /** True when the remote CAS reports the blob present (FindMissingBlobs). */
  async has(d: Digest): Promise<boolean> {
    return (await this.findMissing([d])).length === 0;
  }

  /** True when the remote blob reads back matching its digest (read whole). */
  async verify(d: Digest): Promise<boolean> {
    return (await this.get(d)) !== undefined;
  }

  /** The blob, verified by the client; undefined when the remote CAS lacks it or serves other bytes. */
  async get(d: Digest): Promise<Uint8Array | undefined> {
    try {
      return await this.#client.readBlob(d);
    } catch (e) {
      const code = GomaError.from(e).code;
      if (code === Code.NotFound || code === Code.DataLoss) return undefined;
      throw e;
    }
  }

  /**
   * Uploads a blob after checking `data` against `digest`.
   * @throws {GomaError} InvalidArgument when they differ; the remote service's status.
   */
  async put(d: Digest, data: Uint8Array): Promise<void> {
    const got = digestOf(data);
    if (got.hash !== d.hash || got.sizeBytes !== d.sizeBytes) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(d)} has data with digest ${digestKey(got)}`);
    }
    if (d.sizeBytes > 0) await this.#client.uploadBlobs([{ digest: d, data }]);
  }

  /** Uploads a file's content (O_NOFOLLOW with `noFollow`); its digest. */
  async putFile(src: string, opts: { noFollow?: boolean } = {}): Promise<Digest> {
    const fh = await open(src, constants.O_RDONLY | (opts.noFollow ? constants.O_NOFOLLOW : 0));
    let data: Uint8Array;
    try {
      if (!(await fh.stat()).isFile()) throw new GomaError(Code.InvalidArgument, `"${src}" is not a regular file`);
      data = new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
    const d = digestOf(data);
    await this.put(d, data);
    return d;
  }

  /** A writer that verifies in memory and uploads at `commit()`. */
  async createWriter(d: Digest): Promise<BlobWriter> {
    let upload: Promise<void> = Promise.resolve();
    const w = new MemoryBlobWriter(d, (data) => { upload = this.put(d, data); });
    return {
      digest: d,
      get committedBytes() { return w.committedBytes; },
      write: (chunk) => w.write(chunk),
      commit: async () => {
        await w.commit();
        await upload;
      },
      abort: () => w.abort(),
    };
  }

  /**
   * Streams the blob (read whole, verified) from `offset`, at most `limit` bytes (0 = to the end).
   * @throws {GomaError} NotFound when absent; OutOfRange when `offset` is beyond the blob.
   */
  async *read(d: Digest, offset = 0, limit = 0, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
    if (offset < 0 || offset > d.sizeBytes) throw new GomaError(Code.OutOfRange, `Read offset ${offset} is outside blob ${digestKey(d)}`);
    const data = await this.get(d);
    if (!data) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found in the remote CAS`);
    const end = limit > 0 ? Math.min(d.sizeBytes, offset + limit) : d.sizeBytes;
    for (let pos = offset; pos < end; pos += chunkBytes) yield data.slice(pos, Math.min(end, pos + chunkBytes));
  }

  /**
   * Writes a verified copy of the remote blob at `dest` (which must not exist), mode 0444 (0555 executable).
   * @throws {GomaError} NotFound when the remote CAS lacks it.
   */
  async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    const data = await this.get(d);
    if (!data) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found in the remote CAS`);
    await writeBlobFile(dest, data, executable);
  }

  /** A no-op: goma cannot hold a remote blob from eviction. */
  pin(_digests: Digest[]): () => void {
    return () => {};
  }
}

/** The action cache of a remote REAPI service, one client per instance name asked. */
export class RemoteActionCache implements ActionCache {
  readonly #opts: ReapiClientOptions;
  readonly #clients = new Map<string, ReapiClient>();

  /** @param opts how to reach the service (its `instanceName` is replaced by each call's). */
  constructor(opts: ReapiClientOptions, first?: ReapiClient) {
    this.#opts = opts;
    if (first) this.#clients.set(first.instanceName, first);
  }

  #client(instanceName: string): ReapiClient {
    let c = this.#clients.get(instanceName);
    if (!c) this.#clients.set(instanceName, (c = new ReapiClient({ ...this.#opts, instanceName })));
    return c;
  }

  /** GetActionResult under `instanceName` (stdout and stderr inlined when small); undefined on a miss. */
  get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    return this.#client(instanceName).getActionResult(actionDigest, { inlineStdout: true, inlineStderr: true });
  }

  /** UpdateActionResult under `instanceName` (the service may refuse: PermissionDenied when updates are off). */
  put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    return this.#client(instanceName).updateActionResult(actionDigest, result);
  }

  /** Closes every channel it opened (and the first client's). */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

/** The remote CAS and action cache of one REAPI service, and a close() for their channels. */
export function remoteStores(opts: ReapiClientOptions): { cas: RemoteCas; ac: RemoteActionCache; close(): void } {
  const client = new ReapiClient(opts);
  const ac = new RemoteActionCache(opts, client);
  return { cas: new RemoteCas(client), ac, close: () => ac.close() };
}
