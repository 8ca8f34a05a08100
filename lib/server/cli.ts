/**
 * `goma server`: Goma's remoteexec_proxy. Serves Goma's HTTP protocol and forwards compiles to a REAPI
 * backend: the embedded one (default; CAS, action cache and executor on this machine) or any REAPI
 * service given by `--remoteexec-addr`. Flags follow remoteexec_proxy's (reference/goma-protocol.md §3.1).
 */
import { defineCommand } from "citty";
import { log } from "../util/log.ts";
import { GomaError } from "../util/status.ts";
import { DEFAULTS } from "../config/goma-env.ts";
import { serverConfigFromFlags } from "../config/server-config.ts";

export const serverCommand = defineCommand({
  meta: { name: "server", description: "Goma's HTTP protocol in front of a REAPI backend (remoteexec_proxy)" },
  args: {
    port: { type: "string", default: String(DEFAULTS.serverPort), description: "HTTP port of the Goma API (0: any free port)" },
    listen: { type: "string", default: DEFAULTS.serverListen, description: "Address to listen on" },
    "remoteexec-addr": { type: "string", description: "REAPI endpoint host:port; default: the embedded backend" },
    "remote-cache-addr": { type: "string", description: "Embedded backend executes, a cache-only REAPI service (CAS + ActionCache, e.g. BuildGrid without workers) at host:port stores: inputs, outputs and results go there, misses are read from there; not with --remoteexec-addr" },
    "reapi-listen": { type: "string", description: "Embedded backend: fixed HOST:PORT of its REAPI gRPC service, for Bazel and other clients (default: a random loopback port for this server only); off loopback only with --auth-tokens/--auth-secret or --allow-unauthenticated" },
    "remote-instance-name": { type: "string", default: "", description: "REAPI instance name (empty stays empty)" },
    "insecure-remoteexec": { type: "boolean", default: false, description: "Plaintext gRPC to the backend (default for loopback)" },
    "platform-container-image": { type: "string", description: "Adds the platform property container-image" },
    "platform-property": { type: "string", description: "KEY=VALUE platform property (repeatable); default OSFamily=linux" },
    "env-prefix": { type: "string", description: "Directory the workers provide (repeatable); default /usr /lib* /bin /sbin /etc" },
    "cache-dir": { type: "string", description: "Embedded backend's CAS, action cache and work dirs (default $XDG_CACHE_HOME/goma)" },
    "cache-max-size-mb": { type: "string", description: `Embedded backend: size limit of its CAS and action cache together, MiB; least recently used entries are evicted beyond it (default $GOMA_SERVER_CACHE_MAX_SIZE_MB or ${DEFAULTS.serverCacheMaxSizeMib}; 0: no limit)` },
    "exec-commands": { type: "string", default: "toolchain", description: "Embedded backend: which commands it runs: toolchain (declared compilers through goma's wrapper; what goma needs) or any (every command an authorized REAPI client sends, e.g. Bazel's genrules; sandboxed like the rest)" },
    "exec-sandbox": { type: "string", default: "auto", description: "Embedded backend: run actions under bubblewrap: auto (when it works here), required, off" },
    "exec-concurrency": { type: "string", description: "Embedded backend: actions run at once (default: cores)" },
    "max-request-bytes": { type: "string", default: String(DEFAULTS.serverMaxRequestBytes), description: "Largest request body (413 beyond)" },
    "auth-tokens": { type: "string", description: "File of accepted tokens, one '<token> <user>' per line (# comments); re-read on change" },
    "auth-secret": { type: "string", description: "File with the secret that signs tokens (goma auth new-secret / goma auth issue); re-read on change" },
    "allowed-users": { type: "string", description: "Comma list of users (or *@domain) allowed in; default: any user a token names" },
    "allow-unauthenticated": { type: "boolean", default: false, description: "Serve without any auth (default on loopback: only this user, through ~/.config/goma/local-token)" },
    "remoteexec-token-file": { type: "string", description: "Bearer token for the backend (e.g. Buildbarn JWT), re-read on change" },
    "service-account-json": { type: "string", description: "Service-account key: OAuth2 JWT-bearer access tokens for the backend (Google RBE)" },
    "service-account-scope": { type: "string", description: "OAuth2 scope for --service-account-json (default cloud-build-service)" },
    "remoteexec-ca-cert": { type: "string", description: "CA certificates (PEM) of the backend's TLS certificate; implies TLS" },
    "remoteexec-client-cert": { type: "string", description: "Client certificate (PEM) for mTLS to the backend; needs --remoteexec-client-key" },
    "remoteexec-client-key": { type: "string", description: "Client private key (PEM) for mTLS to the backend" },
    "remoteexec-tls-server-name": { type: "string", description: "Name the backend's certificate must carry (default: the host of --remoteexec-addr)" },
    "buildbarn-scheduler": { type: "string", description: "host:port of bb_scheduler's BuildQueueState service: goma doctor then lists its queues and workers" },
  },
  async run({ args, rawArgs }) {
    const { startServer } = await import("./start.ts");
    const { localTokenPath } = await import("../auth/local-token.ts");
    // The config is built once here (flags, then GOMA_* for what no flag gave) and passed in.
    const cfg = serverConfigFromFlags(args, rawArgs, process.env);
    cfg.auth = { ...cfg.auth, localTokenFile: localTokenPath(process.env) };
    const s = await startServer(cfg).catch((e: unknown) => {
      process.stderr.write(`goma server: ${e instanceof GomaError ? e.rawMessage : (e as Error).message}\n`);
      process.exit(2);
    });
    // Before the "listening" line, which scripts (and test/e2e/harness.ts) wait for.
    if (s.reapiService) process.stdout.write(`goma server REAPI service: ${s.reapiService}\n`);
    process.stdout.write(`goma server listening on http://${s.listen}:${s.port} (backend: ${s.backend})\n`);
    process.stdout.write(`goma server auth: ${s.auth}\n`);
    if (s.sandbox) process.stdout.write(`goma server sandbox: ${s.sandbox}\n`);
    const stop = async (sig: string) => {
      log.info(`${sig}: stopping`);
      await s.stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    await new Promise(() => {});
  },
});
