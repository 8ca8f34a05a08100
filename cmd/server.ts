/** `goma server`: Goma's HTTP protocol in front of a REAPI backend (Goma's remoteexec_proxy). */
export { serverCommand as default } from "../lib/server/cli.ts";
