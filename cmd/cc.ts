/** `goma cc <compiler> <args…>`: thin entry for lib/cc (kept free of heavy imports). */
export { runCc } from "../lib/cc/run.ts";
