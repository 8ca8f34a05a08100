/**
 * Replaces the `goma cc` process with the compiler, passing argv as exact bytes: `Bun.spawn` and
 * `child_process` encode arguments as UTF-8, which turns a Latin-1 file name (`caf\xe9.c`) into another
 * one. `execvp(3)` through `bun:ffi` takes the bytes as they are; the environment and cwd are the
 * process's own, byte for byte. Loaded only when an argument is not valid UTF-8 (about 3 ms).
 */
import { encodeBytes } from "./bytes.ts";

/**
 * execvp(argv[0], argv) with each string turned back into its exact bytes (lib/cc/bytes.ts). Does not
 * return when the compiler starts; the process's exit status becomes the compiler's (signals included).
 * @returns false when exec is not possible here (not running on Bun, or execvp failed: then the caller
 *   reports the compiler as not runnable).
 */
export async function execExactBytes(argv: string[]): Promise<false> {
  const Bun_ = (globalThis as { Bun?: unknown }).Bun;
  if (!Bun_ || argv.length === 0) return false;
  let ffi: typeof import("bun:ffi");
  try {
    ffi = await import("bun:ffi");
  } catch {
    return false;
  }
  const lib = ffi.dlopen("libc.so.6", { execvp: { args: [ffi.FFIType.ptr, ffi.FFIType.ptr], returns: ffi.FFIType.i32 } });
  const bufs = argv.map((a) => {
    const b = encodeBytes(a);
    const z = new Uint8Array(b.byteLength + 1);
    z.set(b);
    return z;
  });
  const table = new BigUint64Array(bufs.length + 1);
  bufs.forEach((b, i) => (table[i] = BigInt(ffi.ptr(b))));
  lib.symbols.execvp(ffi.ptr(bufs[0]!), ffi.ptr(table));
  return false; // execvp returned: the program could not be run
}
