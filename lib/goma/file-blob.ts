/**
 * FileBlob construction, hashing and validation (reference/goma-protocol.md §2.1, §2.3).
 *
 * A file of at most 2 MiB travels as one `FILE` blob; a larger one as `FILE_CHUNK`s of 2 MiB plus a
 * `FILE_META` listing the chunks' hash keys. A hash key is the lowercase hex SHA-256 of the blob's
 * serialization (proto2, explicit presence: `offset=0` is serialized), never of the file content.
 */
import { goma, type IFileBlob } from "./proto.ts";
import { sha256Hex } from "../digest/digest.ts";

/** Chunk size of FILE_CHUNK blobs and the largest FILE blob (Goma's kFileChunkSize). */
export const FILE_CHUNK_SIZE = 2 * 1024 * 1024;

const { FileBlob } = goma;
const T = goma.FileBlob.BlobType;

/** Serializes a FileBlob (field order ascending, as the C++ and Go serializers do). */
export function serializeBlob(blob: IFileBlob): Uint8Array {
  return FileBlob.encode(blob).finish();
}

/** The hash key of a blob: hex SHA-256 of its serialization. */
export function blobHashKey(blob: IFileBlob | Uint8Array): string {
  return sha256Hex(blob instanceof Uint8Array ? blob : serializeBlob(blob));
}

/** A blob and its serialization and hash key. */
export interface KeyedBlob {
  blob: IFileBlob;
  bytes: Uint8Array;
  hashKey: string;
}

function keyed(blob: IFileBlob): KeyedBlob {
  const bytes = serializeBlob(blob);
  return { blob, bytes, hashKey: sha256Hex(bytes) };
}

/**
 * Builds the blobs for a file's content: `{ top, chunks }` where `top` is a FILE (≤ 2 MiB, chunks empty)
 * or a FILE_META whose hash_keys name `chunks` in order. Client chunks set `file_size` to the chunk
 * length, as Goma's client does.
 */
export function blobsForContent(content: Uint8Array): { top: KeyedBlob; chunks: KeyedBlob[] } {
  if (content.byteLength <= FILE_CHUNK_SIZE) {
    return { top: keyed({ blobType: T.FILE, content, fileSize: content.byteLength }), chunks: [] };
  }
  const chunks: KeyedBlob[] = [];
  for (let off = 0; off < content.byteLength; off += FILE_CHUNK_SIZE) {
    const part = content.subarray(off, Math.min(off + FILE_CHUNK_SIZE, content.byteLength));
    chunks.push(keyed({ blobType: T.FILE_CHUNK, offset: off, content: part, fileSize: part.byteLength }));
  }
  const top = keyed({ blobType: T.FILE_META, fileSize: content.byteLength, hashKey: chunks.map((c) => c.hashKey) });
  return { top, chunks };
}

/**
 * Checks a blob against the client's IsValidFileBlob rules. Returns an error message, or "" when valid.
 */
export function validateBlob(b: IFileBlob): string {
  // Decoded proto2 messages carry defaults on the prototype: presence is an own property.
  const has = (k: keyof IFileBlob) => Object.prototype.hasOwnProperty.call(b, k) && b[k] != null;
  const size = b.fileSize;
  if (!has("fileSize") || Number(size) < 0) return "file_size missing or negative";
  const hasOffset = has("offset");
  const hasContent = has("content");
  const keys = b.hashKey?.length ?? 0;
  switch (b.blobType) {
    case T.FILE:
      if (hasOffset || !hasContent || keys) return "FILE needs content and no offset or hash_key";
      if (b.content!.byteLength !== Number(size)) return `FILE content is ${b.content!.byteLength} bytes, file_size says ${size}`;
      return "";
    case T.FILE_META:
      if (hasOffset || hasContent || keys < 2) return "FILE_META needs at least 2 hash_keys and no content";
      return "";
    case T.FILE_CHUNK:
      if (!hasOffset || !hasContent || keys) return "FILE_CHUNK needs offset and content";
      return "";
    case T.FILE_REF:
      if (hasOffset || hasContent || keys !== 1) return "FILE_REF needs exactly one hash_key";
      return "";
    default:
      return `blob_type ${String(b.blobType)} is not storable`;
  }
}
