/**
 * TLS channel credentials for a REAPI endpoint: a custom CA (else the system roots), an optional client
 * certificate and key (mTLS), and the name the server certificate must carry.
 *
 * IP-literal targets (`10.0.0.5:8980`): grpc-js sends the host as the TLS server name, which Bun refuses
 * for IP addresses ("Setting the TLS ServerName to an IP address is not permitted"); so for an IP target
 * without an explicit server name the SNI is a placeholder and the certificate is checked against the IP
 * itself (its IP subjectAltName), as a browser would.
 *
 * Spec: gRPC channel option `grpc.ssl_target_name_override`; RFC 6125 identity checks (node:tls
 * checkServerIdentity).
 */
import * as grpc from "@grpc/grpc-js";
import { checkServerIdentity } from "node:tls";
import { isIP } from "node:net";

/** PEM material and the expected server name. */
export interface TlsMaterial {
  /** CA certificates (PEM) the server certificate must chain to; undefined: the system roots. */
  caPem?: Buffer;
  /** Client certificate chain (PEM) for mTLS; needs `keyPem`. */
  certPem?: Buffer;
  /** Client private key (PEM) for mTLS. */
  keyPem?: Buffer;
  /** Name the server certificate must carry; default: the target's host. */
  serverName?: string;
}

/** SNI sent for IP-literal targets (never resolved; `.invalid` is reserved, RFC 2606). */
const IP_TARGET_SNI = "ip-address-target.invalid";

/**
 * The host part of a gRPC target (`dns:///h:p`, `h:p`, `[::1]:p`, `ipv4:h:p`).
 * @example targetHost("dns:///10.0.0.5:8980") // "10.0.0.5"
 */
export function targetHost(target: string): string {
  const t = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, "");
  const v6 = /^\[([^\]]+)\]/.exec(t);
  if (v6) return v6[1]!;
  return t.replace(/:\d+$/, "");
}

/**
 * Channel credentials and options for TLS to `target`.
 * @throws {TypeError} when only one of certPem and keyPem is given.
 */
export function secureChannel(target: string, m: TlsMaterial): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (Boolean(m.certPem) !== Boolean(m.keyPem)) throw new TypeError("A client certificate needs its key and a key needs its certificate (mTLS)");
  const host = targetHost(target);
  let verify: grpc.VerifyOptions = {};
  const options: grpc.ChannelOptions = {};
  const name = m.serverName || host;
  if (isIP(name)) {
    options["grpc.ssl_target_name_override"] = IP_TARGET_SNI;
    verify = { checkServerIdentity: (_name, cert) => checkServerIdentity(name, cert) };
  } else if (m.serverName) {
    options["grpc.ssl_target_name_override"] = m.serverName;
  }
  const credentials = grpc.credentials.createSsl(m.caPem ?? null, m.keyPem ?? null, m.certPem ?? null, verify);
  return { credentials, options };
}
