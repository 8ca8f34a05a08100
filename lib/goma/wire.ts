/**
 * Raw protobuf wire helpers for the two places where goma must keep bytes exactly as received or stored:
 * the FileBlob payloads of StoreFileReq (their hash key is the SHA-256 of those exact bytes,
 * reference/goma-protocol.md §2.3) and the stored blobs returned by LookupFileResp.
 */

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.byteLength) throw new SyntaxError("Truncated varint");
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7;
    if (shift > 63) throw new SyntaxError("Varint too long");
  }
}

function writeVarint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/**
 * Returns the raw payloads of every length-delimited occurrence of `field` in a serialized message,
 * in order, without decoding them.
 * @throws {SyntaxError} on malformed wire data.
 */
export function rawFields(msg: Uint8Array, field: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < msg.byteLength) {
    const [tag, p1] = readVarint(msg, pos);
    pos = p1;
    const wt = tag % 8;
    const num = Math.floor(tag / 8);
    if (wt === 0) pos = readVarint(msg, pos)[1];
    else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else if (wt === 2) {
      const [len, p2] = readVarint(msg, pos);
      if (p2 + len > msg.byteLength) throw new SyntaxError("Truncated length-delimited field");
      if (num === field) out.push(msg.subarray(p2, p2 + len));
      pos = p2 + len;
    } else if (wt === 3 || wt === 4) {
      // Groups: only inside messages we decode with protobufjs; skip by tag here is not needed for
      // StoreFileReq/LookupFileResp, which have none.
      throw new SyntaxError(`Unexpected group wire type in field ${num}`);
    } else throw new SyntaxError(`Invalid wire type ${wt}`);
    if (pos > msg.byteLength) throw new SyntaxError("Truncated field");
  }
  return out;
}

/** Serializes `payloads` as repeated length-delimited `field` entries. */
export function encodeRawFields(field: number, payloads: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const p of payloads) {
    const head: number[] = [];
    writeVarint(field * 8 + 2, head);
    writeVarint(p.byteLength, head);
    const h = Uint8Array.from(head);
    parts.push(h, p);
    total += h.byteLength + p.byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
