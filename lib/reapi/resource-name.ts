/**
 * ByteStream resource names and instance-name rules, shared by the client and the embedded server.
 *
 * An empty instance name contributes nothing, not even a slash: `blobs/<hash>/<size>`. The parser follows
 * Buildbarn: split on `/`, the instance name is every segment before the first `blobs`,
 * `compressed-blobs` or `uploads` keyword.
 *
 * Spec: google.bytestream resource names for REAPI, reference/reapi-buildbarn.md §1.6 and §2.
 */
import { type Digest, toDigest } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";

/** Path segments an instance name may not contain (they would make resource names ambiguous). */
export const RESERVED_SEGMENTS: readonly string[] = [
  "blobs", "uploads", "actions", "actionResults", "operations", "capabilities", "compressed-blobs",
];

/**
 * Checks an instance name the way Buildbarn does: `""` is valid; otherwise no leading, trailing or double
 * slash and no reserved keyword segment.
 * @throws {GomaError} InvalidArgument naming the offending instance name.
 * @example validateInstanceName("hardlinking"); // ok
 */
export function validateInstanceName(name: string): void {
  if (name === "") return;
  const bad = (why: string) => new GomaError(Code.InvalidArgument, `Invalid instance name "${name}": ${why}`);
  if (name.startsWith("/") || name.endsWith("/")) throw bad("leading or trailing slash");
  for (const seg of name.split("/")) {
    if (seg === "") throw bad("empty path segment");
    if (RESERVED_SEGMENTS.includes(seg)) throw bad(`segment "${seg}" is a reserved keyword`);
  }
}

/** `"name/"` for a non-empty instance name, `""` for the empty one. */
function prefix(instanceName: string): string {
  return instanceName === "" ? "" : `${instanceName}/`;
}

/**
 * The ByteStream Read resource name of a blob.
 * Spec: `{instance_name}/blobs/{hash}/{size}` (SHA-256 omits the digest function segment).
 * @example readResourceName("", d) // "blobs/e3b0…/0"
 */
export function readResourceName(instanceName: string, d: Digest): string {
  return `${prefix(instanceName)}blobs/${d.hash}/${d.sizeBytes}`;
}

/**
 * The ByteStream Write resource name of an upload.
 * Spec: `{instance_name}/uploads/{uuid}/blobs/{hash}/{size}`.
 * @example writeResourceName("hardlinking", id, d) // "hardlinking/uploads/<id>/blobs/<hash>/<size>"
 */
export function writeResourceName(instanceName: string, uploadId: string, d: Digest): string {
  return `${prefix(instanceName)}uploads/${uploadId}/blobs/${d.hash}/${d.sizeBytes}`;
}

/** The PreconditionFailure subject of a missing blob: `blobs/{hash}/{size}` (no instance name). */
export function blobSubject(d: Digest): string {
  return `blobs/${d.hash}/${d.sizeBytes}`;
}

/** Compressors the embedded server accepts in `compressed-blobs/{compressor}/…` names. */
export type BlobCompressor = "zstd";

/**
 * A parsed resource name. `uploadId` is set for Write names only; `compressor` for `compressed-blobs`
 * names (the digest is still that of the uncompressed data).
 */
export interface ParsedResourceName {
  instanceName: string;
  digest: Digest;
  uploadId?: string;
  compressor?: BlobCompressor;
}

/**
 * The ByteStream Read resource name of a zstd-compressed blob.
 * Spec: `{instance_name}/compressed-blobs/zstd/{uncompressed_hash}/{uncompressed_size}`.
 */
export function compressedReadResourceName(instanceName: string, d: Digest): string {
  return `${prefix(instanceName)}compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`;
}

/**
 * The ByteStream Write resource name of a zstd-compressed upload.
 * Spec: `{instance_name}/uploads/{uuid}/compressed-blobs/zstd/{uncompressed_hash}/{uncompressed_size}`.
 */
export function compressedWriteResourceName(instanceName: string, uploadId: string, d: Digest): string {
  return `${prefix(instanceName)}uploads/${uploadId}/compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`;
}

/**
 * Parses `blobs/[sha256/]{hash}/{size}` or `compressed-blobs/zstd/[sha256/]{hash}/{size}` starting at
 * `segs[i]`; returns the digest, the compressor and the next index.
 */
function parseBlobPart(name: string, segs: string[], i: number): { digest: Digest; next: number; compressor?: BlobCompressor } {
  const invalid = (why: string) => new GomaError(Code.InvalidArgument, `Invalid resource name "${name}": ${why}`);
  let compressor: BlobCompressor | undefined;
  let j = i + 1;
  if (segs[i] === "compressed-blobs") {
    const c = segs[j];
    if (c !== "zstd") {
      throw new GomaError(c === "deflate" || c === "brotli" ? Code.Unimplemented : Code.InvalidArgument,
        `Invalid resource name "${name}": compressor "${c ?? ""}" is not supported (this server supports zstd)`);
    }
    compressor = c;
    j++;
  } else if (segs[i] !== "blobs") throw invalid(`expected "blobs" at segment ${i}`);
  if (segs[j] !== undefined && !/^[0-9a-f]+$/.test(segs[j]!)) {
    if (segs[j] !== "sha256") throw new GomaError(Code.InvalidArgument, `Unsupported digest function "${segs[j]}"`);
    j++;
  }
  const hash = segs[j], size = segs[j + 1];
  if (hash === undefined || size === undefined || !/^\d+$/.test(size)) throw invalid("expected {hash}/{size}");
  try {
    return { digest: toDigest({ hash, sizeBytes: Number(size) }), next: j + 2, compressor };
  } catch (e) {
    throw invalid((e as Error).message);
  }
}

/** Splits off the instance name before the first keyword segment in `keywords`. */
function splitInstance(name: string, keywords: string[]): { instanceName: string; segs: string[]; i: number } {
  const segs = name.split("/");
  const i = segs.findIndex((s) => keywords.includes(s));
  if (i < 0) throw new GomaError(Code.InvalidArgument, `Invalid resource name "${name}": no ${keywords.join("/")} segment`);
  const instanceName = segs.slice(0, i).join("/");
  if (i > 0 && instanceName === "") throw new GomaError(Code.InvalidArgument, `Invalid resource name "${name}": leading slash`);
  validateInstanceName(instanceName);
  return { instanceName, segs, i };
}

/**
 * Parses a ByteStream Read resource name, `{instance}/blobs/{hash}/{size}` or
 * `{instance}/compressed-blobs/zstd/{hash}/{size}`.
 * @throws {GomaError} InvalidArgument for a malformed name or instance name or an unknown compressor,
 * Unimplemented for `deflate`/`brotli`.
 */
export function parseReadResourceName(name: string): ParsedResourceName {
  const { instanceName, segs, i } = splitInstance(name, ["blobs", "compressed-blobs"]);
  const { digest, next, compressor } = parseBlobPart(name, segs, i);
  if (next !== segs.length) throw new GomaError(Code.InvalidArgument, `Invalid resource name "${name}": trailing segments`);
  return compressor ? { instanceName, digest, compressor } : { instanceName, digest };
}

/**
 * Parses a ByteStream Write resource name, `{instance}/uploads/{uuid}/blobs/{hash}/{size}{/metadata}` or
 * `{instance}/uploads/{uuid}/compressed-blobs/zstd/{hash}/{size}{/metadata}` (anything after the size
 * is optional metadata and ignored).
 * @throws {GomaError} InvalidArgument for a malformed name or an unknown compressor, Unimplemented for
 * `deflate`/`brotli`.
 */
export function parseWriteResourceName(name: string): ParsedResourceName {
  const { instanceName, segs, i } = splitInstance(name, ["uploads"]);
  const uploadId = segs[i + 1];
  if (!uploadId) throw new GomaError(Code.InvalidArgument, `Invalid resource name "${name}": missing upload id`);
  const { digest, compressor } = parseBlobPart(name, segs, i + 2);
  return compressor ? { instanceName, digest, uploadId, compressor } : { instanceName, digest, uploadId };
}
