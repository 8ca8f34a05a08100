/**
 * Test PKI made with openssl: a self-signed CA, server certificates with IP/DNS subjectAltNames and client
 * certificates, all written as PEM files into a temp dir. Nothing leaves the machine.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths of a key pair and its certificate. */
export interface CertFiles {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });

/** A self-signed CA `name` in `dir` (name.pem, name.key). */
export function makeCa(dir: string, name: string): CertFiles {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`], dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** A certificate `name` signed by `ca`, with subjectAltNames `sans` (e.g. ["IP:127.0.0.1"]) or for a client. */
export function makeCert(dir: string, ca: CertFiles, name: string, sans: string[] = []): CertFiles {
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, sans.length ? `subjectAltName=${sans.join(",")}\n` : "extendedKeyUsage=clientAuth\n");
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", ext], dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}
