/**
 * Base classes of the store decorators: each forwards every method to the store it wraps, so a
 * decorator extends one and overrides only what it changes (TypeScript has no struct embedding; this is
 * bb-storage's embedded BlobAccess, reference/style.md §5.3).
 *
 * @example
 * class CountingCas extends ForwardingCas {
 *   gets = 0;
 *   override get(d: Digest) { this.gets++; return super.get(d); }
 * }
 */
import type { Digest } from "../digest/digest.ts";
import type { ActionCache, ActionResultMessage, BlobWriter, Cas } from "./cas.ts";

/** A {@link Cas} that forwards every call to `base`. */
export class ForwardingCas implements Cas {
  /** The store below this decorator. */
  protected readonly base: Cas;

  constructor(base: Cas) {
    this.base = base;
  }

  findMissing(digests: Digest[]): Promise<Digest[]> {
    return this.base.findMissing(digests);
  }
  has(digest: Digest): Promise<boolean> {
    return this.base.has(digest);
  }
  verify(digest: Digest): Promise<boolean> {
    return this.base.verify(digest);
  }
  get(digest: Digest): Promise<Uint8Array | undefined> {
    return this.base.get(digest);
  }
  put(digest: Digest, data: Uint8Array): Promise<void> {
    return this.base.put(digest, data);
  }
  putFile(src: string, opts?: { noFollow?: boolean }): Promise<Digest> {
    return this.base.putFile(src, opts);
  }
  createWriter(digest: Digest): Promise<BlobWriter> {
    return this.base.createWriter(digest);
  }
  read(digest: Digest, offset?: number, limit?: number, chunkBytes?: number): AsyncGenerator<Uint8Array> {
    return this.base.read(digest, offset, limit, chunkBytes);
  }
  materialize(digest: Digest, dest: string, executable: boolean): Promise<void> {
    return this.base.materialize(digest, dest, executable);
  }
  pin(digests: Digest[]): () => void {
    return this.base.pin(digests);
  }
}

/** An {@link ActionCache} that forwards every call to `base`. */
export class ForwardingActionCache implements ActionCache {
  /** The action cache below this decorator. */
  protected readonly base: ActionCache;

  constructor(base: ActionCache) {
    this.base = base;
  }

  get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    return this.base.get(instanceName, actionDigest);
  }
  put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    return this.base.put(instanceName, actionDigest, result);
  }
}
