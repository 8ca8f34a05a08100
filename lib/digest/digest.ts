/**
 * REAPI Digest helpers (SHA-256 only, the digest function every REAPI server supports).
 *
 * Spec: REAPI `Digest{hash=1, size_bytes=2}`; reference/reapi-buildbarn.md §1.2, §1.5.
 */
import { createHash } from "node:crypto";

/** A REAPI Digest: lowercase hex SHA-256 and size in bytes. Size is part of identity. */
export interface Digest {
  hash: string;
  sizeBytes: number;
}

/** SHA-256 of the empty blob; also the digest of an empty Directory. */
export const EMPTY_DIGEST: Digest = {
  hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  sizeBytes: 0,
};

/** Lowercase hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The Digest of `data`. */
export function digestOf(data: Uint8Array): Digest {
  return { hash: sha256Hex(data), sizeBytes: data.byteLength };
}

/** `hash/size`, the form used in ByteStream resource names and as a map key. */
export function digestKey(d: Digest): string {
  return `${d.hash}/${d.sizeBytes}`;
}

/**
 * Normalizes a Digest decoded by protobufjs (size may be a number, a Long or a string).
 * @throws {TypeError} when the hash is not 64 lowercase hex characters or the size is negative.
 */
export function toDigest(d: { hash?: string | null; sizeBytes?: unknown } | null | undefined): Digest {
  const hash = d?.hash ?? "";
  const sizeBytes = Number(d?.sizeBytes ?? 0);
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new TypeError(`Invalid digest hash: "${hash}"`);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new TypeError(`Invalid digest size: ${String(d?.sizeBytes)}`);
  return { hash, sizeBytes };
}
