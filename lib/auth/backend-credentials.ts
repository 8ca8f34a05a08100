/**
 * How `goma server` authenticates to its REAPI backend (issue #5 §2), built from its flags:
 *
 * - `--remoteexec-token-file FILE`: a bearer token (Buildbarn's JWT authentication, `authorization:
 *   Bearer <jwt>`); the file holds the token (a leading `Bearer ` is dropped);
 * - `--service-account-json FILE`: OAuth2 access tokens by the JWT-bearer flow (Google RBE), see
 *   service-account.ts;
 * - `--remoteexec-ca-cert FILE`: CA certificates the backend's certificate must chain to (TLS on);
 * - `--remoteexec-client-cert FILE` + `--remoteexec-client-key FILE`: mTLS (TLS on);
 * - `--remoteexec-tls-server-name NAME`: the name the backend's certificate must carry.
 *
 * Every file is re-read when it changes (lib/auth/watched-file.ts): a rotated token is sent from the next
 * call on; rotated TLS material gives new calls a new channel (lib/reapi/rpc-caller.ts).
 */
import { WatchedFile } from "./watched-file.ts";
import { ServiceAccountTokenSource } from "./service-account.ts";
import type { TlsMaterial } from "../reapi/tls-credentials.ts";
import { Code, GomaError } from "../util/status.ts";
import type { BackendCredentialOptions } from "../config/server-config.ts";

/** The flags (lib/config/server-config.ts, part of `ServerConfig`). */
export type { BackendCredentialOptions };

/** What the REAPI client gets. */
export interface BackendCredentials {
  /** True when any TLS flag was given (TLS even to a loopback backend). */
  useTls: boolean;
  /** TLS material, the same object until a file changes. Undefined: TLS with system roots, or plaintext. */
  tls?: () => TlsMaterial;
  /** The bearer token per call, or undefined. */
  bearerToken?: () => string | undefined;
  /** Resolves once a first token is at hand (service account); rejects with the endpoint's error. */
  ready(): Promise<void>;
  /** One line for the status page, naming files, never their content. */
  describe(): string;
  /** The service-account token source, when used (doctor reports its last error). */
  serviceAccount?: ServiceAccountTokenSource;
}

const pemFile = (path: string, what: string) => new WatchedFile(path, what, (b) => {
  if (!b.includes("-----BEGIN ")) throw new SyntaxError("it is not PEM (no -----BEGIN line)");
  return b;
});

/**
 * Builds the credentials from the flags, reading every file once.
 * @throws {GomaError} FailedPrecondition when a file cannot be read, or flags conflict (token file and
 * service account; a client cert without its key).
 */
export function backendCredentials(o: BackendCredentialOptions): BackendCredentials {
  if (o.tokenFile && o.serviceAccountJson) {
    throw new GomaError(Code.FailedPrecondition, "--remoteexec-token-file and --service-account-json both set the backend's bearer token: give one");
  }
  if (Boolean(o.clientCert) !== Boolean(o.clientKey)) {
    throw new GomaError(Code.FailedPrecondition, "--remoteexec-client-cert and --remoteexec-client-key go together (mTLS): give both");
  }
  const parts: string[] = [];
  let bearerToken: (() => string | undefined) | undefined;
  let ready = async () => {};
  let serviceAccount: ServiceAccountTokenSource | undefined;
  if (o.tokenFile) {
    const f = new WatchedFile(o.tokenFile, "the backend token file (--remoteexec-token-file)", (b) => {
      const t = b.toString("utf8").trim().replace(/^Bearer\s+/i, "");
      if (!t || /\s/.test(t)) throw new SyntaxError("it must hold one token (one line, no spaces)");
      return t;
    });
    bearerToken = () => f.get();
    parts.push(`bearer token from ${o.tokenFile}`);
  } else if (o.serviceAccountJson) {
    serviceAccount = new ServiceAccountTokenSource({ jsonPath: o.serviceAccountJson, scope: o.serviceAccountScope });
    const sa = serviceAccount;
    bearerToken = () => sa.token();
    ready = () => sa.ready();
    parts.push(sa.describe());
  }
  const useTls = Boolean(o.caCert || o.clientCert || o.tlsServerName);
  let tls: (() => TlsMaterial) | undefined;
  if (useTls) {
    const ca = o.caCert ? pemFile(o.caCert, "the backend CA certificate (--remoteexec-ca-cert)") : undefined;
    const cert = o.clientCert ? pemFile(o.clientCert, "the client certificate (--remoteexec-client-cert)") : undefined;
    const key = o.clientKey ? pemFile(o.clientKey, "the client key (--remoteexec-client-key)") : undefined;
    let material: TlsMaterial | undefined;
    let stamp = "";
    tls = () => {
      const now = [ca?.get(), cert?.get(), key?.get()];
      const s = `${ca?.loads}:${cert?.loads}:${key?.loads}`;
      if (!material || s !== stamp) {
        material = { caPem: now[0], certPem: now[1], keyPem: now[2], serverName: o.tlsServerName };
        stamp = s;
      }
      return material;
    };
    parts.push(`TLS${o.caCert ? ` (CA ${o.caCert})` : " (system roots)"}${o.clientCert ? `, client certificate ${o.clientCert}` : ""}${o.tlsServerName ? `, server name ${o.tlsServerName}` : ""}`);
  }
  return {
    useTls,
    tls,
    bearerToken,
    ready,
    serviceAccount,
    describe: () => parts.join("; ") || "none",
  };
}
