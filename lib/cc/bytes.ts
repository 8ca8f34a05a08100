/**
 * argv, cwd and env are bytes on POSIX, not text: a file may be named `caf\xe9.c` (Latin-1). Bun decodes
 * them as UTF-8 and replaces every invalid byte with U+FFFD, so such a name is lost before goma sees it.
 * This module recovers the exact bytes from /proc/self and carries them in JS strings reversibly, the way
 * Python's `surrogateescape` does: valid UTF-8 decodes as usual, and each byte of an invalid sequence
 * becomes the lone surrogate U+DC80 + (byte − 0x80). {@link encodeBytes} undoes it exactly. JSON keeps lone
 * surrogates as `\udcXX` escapes, so the IPC request to the proxy carries the bytes unchanged.
 *
 * On the lean `cc` path: node:fs only. Spec: PEP 383 (surrogateescape), RFC 3629 (UTF-8).
 */
import { readFileSync, readlinkSync } from "node:fs";

/** A lone low surrogate U+DC80..U+DCFF (an escaped byte), not the second half of a surrogate pair. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** True when `s` carries an escaped byte, i.e. its bytes are not valid UTF-8. */
export function hasEscapedBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/**
 * Decodes bytes as UTF-8, escaping each byte of an invalid sequence (overlong forms, encoded surrogates,
 * code points over U+10FFFF, truncated sequences, stray continuation bytes) as U+DC80 + (byte − 0x80).
 * Bytes below 0x80 are always ASCII, so only bytes ≥ 0x80 are ever escaped.
 */
export function decodeBytes(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    let cp = n === 1 ? c & 0x1f : n === 2 ? c & 0x0f : c & 0x07;
    let ok = n > 0 && i + n < b.length;
    for (let k = 1; ok && k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (d & 0x3f);
    }
    if (ok && ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) {
      out += String.fromCharCode(0xdc00 + c);
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += n + 1;
  }
  return out;
}

/** The exact bytes of a string from {@link decodeBytes} (UTF-8, with escaped bytes restored). */
export function encodeBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    } else if (cp >= 0xdc80 && cp <= 0xdcff) {
      out.push(cp - 0xdc00);
      continue;
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

function split0(b: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      parts.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < b.length) parts.push(b.subarray(start));
  return parts;
}

const LOSSY = "\uFFFD";

/**
 * The exact argv: `argv` itself unless the runtime replaced bytes in it (a U+FFFD appears), then the
 * last `argv.length` entries of /proc/self/cmdline, decoded with {@link decodeBytes}.
 */
export function exactArgv(argv: string[]): string[] {
  if (!argv.some((a) => a.includes(LOSSY))) return argv;
  try {
    const raw = split0(readFileSync("/proc/self/cmdline"));
    if (raw.length < argv.length) return argv;
    return raw.slice(raw.length - argv.length).map(decodeBytes);
  } catch {
    return argv;
  }
}

/** The exact working directory (from /proc/self/cwd when process.cwd() lost bytes). */
export function exactCwd(): string {
  const cwd = process.cwd();
  if (!cwd.includes(LOSSY)) return cwd;
  try {
    return decodeBytes(readlinkSync("/proc/self/cwd", { encoding: "buffer" }));
  } catch {
    return cwd;
  }
}

/** The exact environment (from /proc/self/environ when a name or value lost bytes). */
export function exactEnv(env: Record<string, string | undefined>): Record<string, string> {
  const lossy = Object.entries(env).some(([k, v]) => k.includes(LOSSY) || v?.includes(LOSSY));
  if (!lossy) return env as Record<string, string>;
  try {
    const out: Record<string, string> = {};
    for (const e of split0(readFileSync("/proc/self/environ")).map(decodeBytes)) {
      const eq = e.indexOf("=");
      if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
    }
    return out;
  } catch {
    return env as Record<string, string>;
  }
}
