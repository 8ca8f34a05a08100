/**
 * Body compression as Goma's client and server use it (reference/goma-protocol.md §1.3).
 *
 * "deflate" is raw DEFLATE (RFC 1951), not zlib: the real client strips the 2-byte zlib header but
 * leaves the 4-byte Adler-32 trailer, so the decoder must accept trailing bytes after the final block.
 */
import { gunzipSync, gzipSync, inflateRawSync, deflateRawSync } from "node:zlib";
import { Code, GomaError } from "../util/status.ts";

/** The encodings goma reads and writes. */
export type Encoding = "identity" | "gzip" | "deflate";

/**
 * Decodes a request or response body according to its `Content-Encoding` header.
 * @param maxBytes limit on the decoded size (a gzip bomb is rejected, not inflated).
 * @throws {GomaError} InvalidArgument for an unknown encoding or corrupt data; ResourceExhausted past maxBytes.
 */
export function decodeBody(body: Uint8Array, contentEncoding: string | null, maxBytes: number): Uint8Array {
  const enc = (contentEncoding ?? "").trim().toLowerCase();
  try {
    if (enc === "" || enc === "identity") return body;
    if (enc === "gzip" || enc === "x-gzip") return new Uint8Array(gunzipSync(body, { maxOutputLength: maxBytes }));
    if (enc === "deflate") {
      // finishFlush tolerates the Adler-32 trailer that the real client leaves after the final block.
      return new Uint8Array(inflateRawSync(body, { maxOutputLength: maxBytes, finishFlush: 2 /* Z_SYNC_FLUSH */ }));
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (/maxOutputLength|buffer length|larger than/i.test(msg) || (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new GomaError(Code.ResourceExhausted, `Decoded body exceeds ${maxBytes} bytes`);
    }
    throw new GomaError(Code.InvalidArgument, `Failed to decode ${enc} body: ${msg}`);
  }
  throw new GomaError(Code.InvalidArgument, `Unsupported Content-Encoding: "${contentEncoding}"`);
}

/** Compresses a body; level 3 is Goma's default (GOMA_HTTP_RPC_COMPRESSION_LEVEL). */
export function encodeBody(body: Uint8Array, encoding: Encoding, level = 3): Uint8Array {
  if (encoding === "gzip") return new Uint8Array(gzipSync(body, { level }));
  if (encoding === "deflate") return new Uint8Array(deflateRawSync(body, { level }));
  return body;
}

/**
 * Picks the response encoding from a request's `Accept-Encoding`, as the Go server does: gzip if listed,
 * else deflate if listed, else identity.
 */
export function pickEncoding(acceptEncoding: string | null): Encoding {
  const a = (acceptEncoding ?? "").toLowerCase();
  if (/\bgzip\b/.test(a)) return "gzip";
  if (/\bdeflate\b/.test(a)) return "deflate";
  return "identity";
}
