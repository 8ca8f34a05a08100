/**
 * The proxy's socket and spool paths, for the IPC code and `goma cc`. They are computed, with their
 * defaults, in lib/config/paths.ts (the one place for goma's configuration); this module re-exports them
 * under the names the cc ⇄ proxy code has always imported. Lean (on the `cc` path).
 */
export { gomaTmpDir, proxySocketPath, unreachedSpoolPath, userName } from "../config/paths.ts";
