/**
 * `goma doctor` without a subcommand: runs lib/doctor/run.ts and prints each check as pass / WARN / FAIL
 * with one line of evidence and one line of fix (`--json`: the {@link DoctorReport} as JSON). Exit status
 * 1 when any check failed, else 0.
 */
import { formatReport } from "./check.ts";
import { runDoctor } from "./run.ts";
import { platformProperties, selfCommand } from "../util/cli-args.ts";

/** citty argument definitions of `goma doctor` (merged into cmd/doctor.ts). */
export const doctorArgs = {
  json: { type: "boolean", default: false, description: "Print the report as JSON" },
  "no-compile": { type: "boolean", default: false, description: "Skip the real compile through the chain" },
  compiler: { type: "string", description: "Check this compiler (PATH) too, in place of PATH's of the same name, and use it for the real compile" },
  "remoteexec-addr": { type: "string", description: "Check this REAPI backend directly instead of asking the server" },
  "remote-instance-name": { type: "string", default: "", description: "Instance name for --remoteexec-addr" },
  "platform-property": { type: "string", description: "KEY=VALUE of the platform to test (repeatable; default OSFamily=linux)" },
  "insecure-remoteexec": { type: "boolean", default: false, description: "Plaintext gRPC to --remoteexec-addr" },
  "remoteexec-token-file": { type: "string", description: "Bearer token for --remoteexec-addr" },
  "service-account-json": { type: "string", description: "Service-account key for --remoteexec-addr" },
  "remoteexec-ca-cert": { type: "string", description: "CA certificates (PEM) for --remoteexec-addr" },
  "remoteexec-client-cert": { type: "string", description: "Client certificate (PEM) for --remoteexec-addr" },
  "remoteexec-client-key": { type: "string", description: "Client key (PEM) for --remoteexec-addr" },
  "remoteexec-tls-server-name": { type: "string", description: "Name the backend's certificate must carry" },
  "buildbarn-scheduler": { type: "string", description: "host:port of bb_scheduler's BuildQueueState service: list its queues and workers next to what goma server sends" },
} as const;

/** Runs the checks and prints the report; sets the exit code. */
export async function doctorMain(args: Record<string, unknown>, rawArgs: string[]): Promise<void> {
  const s = (k: string) => (args[k] === undefined || args[k] === "" ? undefined : String(args[k]));
  let platform: Record<string, string>;
  try {
    platform = platformProperties(rawArgs);
  } catch (e) {
    process.stderr.write(`goma doctor: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const r = await runDoctor(process.env, {
    self: selfCommand(),
    noCompile: Boolean(args["no-compile"]),
    compiler: s("compiler"),
    remoteexecAddr: s("remoteexec-addr"),
    instanceName: s("remote-instance-name") ?? "",
    buildbarnScheduler: s("buildbarn-scheduler"),
    platform: Object.keys(platform).length ? platform : undefined,
    insecure: Boolean(args["insecure-remoteexec"]),
    backendAuth: {
      tokenFile: s("remoteexec-token-file"), serviceAccountJson: s("service-account-json"), caCert: s("remoteexec-ca-cert"),
      clientCert: s("remoteexec-client-cert"), clientKey: s("remoteexec-client-key"), tlsServerName: s("remoteexec-tls-server-name"),
    },
  });
  process.stdout.write(args.json ? JSON.stringify(r, null, 1) + "\n" : formatReport(r));
  process.exitCode = r.ok ? 0 : 1;
}

/**
 * True when `rawArgs` name a subcommand (citty runs the parent's `run` after a subcommand too).
 * @param valueFlags flags of `goma doctor` that take a value.
 */
export function namesSubcommand(rawArgs: string[], subcommands: string[]): boolean {
  const valueFlags = new Set(Object.entries(doctorArgs).filter(([, d]) => d.type === "string").map(([k]) => `--${k}`));
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") return false;
    if (a.startsWith("-")) {
      if (!a.includes("=") && valueFlags.has(a)) i++;
      continue;
    }
    return subcommands.includes(a);
  }
  return false;
}
