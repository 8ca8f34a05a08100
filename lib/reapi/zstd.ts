/**
 * zstd for REAPI compressed blobs (`compressed-blobs/zstd/…` ByteStream names, `Compressor.ZSTD` in batch
 * calls). It uses the runtime's own libzstd through `node:zlib` (`zstdCompress`, `createZstdDecompress` …):
 * Bun and Deno both ship it (Bun 1.4, Deno 2.9; Node ≥ 22.15 too), so it works in the `bun build
 * --compile` binary and from source without a dependency, streams both ways with back-pressure, and is
 * the reference implementation itself. Digests always name the uncompressed data.
 *
 * Spec: REAPI v2.3 Compressor, ByteStream compressed-blobs; reference/reapi-buildbarn.md §1.6; RFC 8878.
 */
import * as zlib from "node:zlib";
import type { Transform } from "node:stream";
import { Code, GomaError } from "../util/status.ts";

/** The zstd level used for blobs the server compresses (zstd's default, 3: fast, ~3× on source text). */
export const ZSTD_LEVEL = 3;

const levelParams = () => ({ params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });

/** Compresses `data` into one zstd frame (with its content size in the header). */
export function zstdCompress(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zlib.zstdCompress(data, levelParams(), (err, out) => (err ? reject(err) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength))));
  });
}

/**
 * Decompresses zstd `data` that must hold at most `maxBytes` bytes once decompressed (the digest's size:
 * a larger result is refused before it is allocated).
 * @throws {GomaError} InvalidArgument `zstd data does not decompress: …` or `… decompresses to more than N bytes`.
 */
export function zstdDecompress(data: Uint8Array, maxBytes: number, what: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zlib.zstdDecompress(data, { maxOutputLength: Math.max(1, maxBytes) }, (err, out) => {
      if (err) reject(decompressError(err, maxBytes, what));
      else if (out.byteLength > maxBytes) reject(new GomaError(Code.InvalidArgument, `${what}: zstd data decompresses to more than ${maxBytes} bytes`));
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}

/** A GomaError (InvalidArgument) for a failed decompression of `what`. */
export function decompressError(err: unknown, maxBytes: number, what: string): GomaError {
  if (err instanceof GomaError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "ERR_BUFFER_TOO_LARGE") return new GomaError(Code.InvalidArgument, `${what}: zstd data decompresses to more than ${maxBytes} bytes`);
  return new GomaError(Code.InvalidArgument, `${what}: zstd data does not decompress: ${(e?.message ?? String(err)).replace(/^Zstd decompress error: /, "")}`);
}

/** A streaming zstd compressor (Transform: uncompressed chunks in, compressed chunks out). */
export function zstdCompressStream(): Transform {
  return zlib.createZstdCompress(levelParams());
}

/** A streaming zstd decompressor (Transform: compressed chunks in, decompressed chunks out). */
export function zstdDecompressStream(): Transform {
  return zlib.createZstdDecompress();
}
