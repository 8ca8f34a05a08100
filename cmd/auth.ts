/** `goma auth`: credentials for goma server without Google (lib/auth/cli.ts). */
export { authCommand as default } from "../lib/auth/cli.ts";
