/**
 * Test support for the REAPI client and the embedded backend: builds an Action (with its Command and
 * input tree) from a compact description, uploads every blob through a {@link ReapiClient}, and returns
 * the action digest. Used only by tests (`*.test.ts` beside lib/reapi and lib/backend).
 *
 * Spec: REAPI Action, Command, Directory canonical form (sorted entries); reference/reapi-buildbarn.md §1.5.
 * @internal
 */
import { type Digest, digestOf } from "../digest/digest.ts";
import type { ReapiClient } from "../reapi/client.ts";
import { build } from "../reapi/proto.ts";
import R = build.bazel.remote.execution.v2;

/** A compact action description. Input files are keyed by `/`-separated path relative to the root. */
export interface TestActionSpec {
  argv: string[];
  env?: Record<string, string>;
  outputPaths?: string[];
  /** Legacy REv2.0 outputs (used only when `outputPaths` is empty). */
  outputFiles?: string[];
  outputDirectories?: string[];
  workingDirectory?: string;
  inputs?: Record<string, { data: string | Uint8Array; executable?: boolean }>;
  /** Symlinks in the input root, path → target (the parent directories are created as for inputs). */
  symlinks?: Record<string, string>;
  /** Action.platform; default `{ OSFamily: "linux" }`. */
  platform?: Record<string, string>;
  /** Command.platform (deprecated field). */
  commandPlatform?: Record<string, string>;
  timeoutSeconds?: number;
  doNotCache?: boolean;
  /** Makes otherwise identical actions distinct. */
  salt?: string;
}

/** The encoded messages of a built action and every blob it needs. */
export interface BuiltAction {
  actionDigest: Digest;
  commandDigest: Digest;
  inputRootDigest: Digest;
  blobs: { digest: Digest; data: Uint8Array }[];
}

const enc = new TextEncoder();
const sortedProps = (p: Record<string, string>) =>
  Object.entries(p).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value }));

interface DirNode {
  files: Map<string, { data: Uint8Array; executable: boolean }>;
  dirs: Map<string, DirNode>;
  links: Map<string, string>;
}

function encodeDir(node: DirNode, blobs: BuiltAction["blobs"]): Digest {
  const names = (m: Map<string, unknown>) => [...m.keys()].sort();
  const dir: R.IDirectory = {
    files: names(node.files).map((n) => {
      const f = node.files.get(n)!;
      const digest = digestOf(f.data);
      blobs.push({ digest, data: f.data });
      return { name: n, digest, isExecutable: f.executable };
    }),
    directories: names(node.dirs).map((n) => ({ name: n, digest: encodeDir(node.dirs.get(n)!, blobs) })),
    symlinks: names(node.links).map((n) => ({ name: n, target: node.links.get(n)! })),
  };
  const data = R.Directory.encode(dir).finish();
  const digest = digestOf(data);
  blobs.push({ digest, data });
  return digest;
}

/** Builds the Action, Command and input Directory blobs of `spec` (nothing is uploaded). */
export function buildTestAction(spec: TestActionSpec): BuiltAction {
  const blobs: BuiltAction["blobs"] = [];
  const root: DirNode = { files: new Map(), dirs: new Map(), links: new Map() };
  const parentOf = (path: string): [DirNode, string] => {
    const parts = path.split("/");
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!node.dirs.has(p)) node.dirs.set(p, { files: new Map(), dirs: new Map(), links: new Map() });
      node = node.dirs.get(p)!;
    }
    return [node, parts.at(-1)!];
  };
  for (const [path, f] of Object.entries(spec.inputs ?? {})) {
    const [node, name] = parentOf(path);
    const data = typeof f.data === "string" ? enc.encode(f.data) : f.data;
    node.files.set(name, { data, executable: f.executable ?? false });
  }
  for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
    const [node, name] = parentOf(path);
    node.links.set(name, target);
  }
  const inputRootDigest = encodeDir(root, blobs);
  const command = R.Command.encode({
    arguments: spec.argv,
    environmentVariables: sortedProps(spec.env ?? {}),
    outputPaths: [...(spec.outputPaths ?? [])].sort(),
    outputFiles: spec.outputFiles ?? [],
    outputDirectories: spec.outputDirectories ?? [],
    workingDirectory: spec.workingDirectory ?? "",
    platform: spec.commandPlatform ? { properties: sortedProps(spec.commandPlatform) } : null,
  }).finish();
  const commandDigest = digestOf(command);
  blobs.push({ digest: commandDigest, data: command });
  const action = R.Action.encode({
    commandDigest,
    inputRootDigest,
    timeout: spec.timeoutSeconds ? { seconds: spec.timeoutSeconds } : null,
    doNotCache: spec.doNotCache ?? false,
    salt: spec.salt ? enc.encode(spec.salt) : new Uint8Array(0),
    platform: { properties: sortedProps(spec.platform ?? { OSFamily: "linux" }) },
  }).finish();
  const actionDigest = digestOf(action);
  blobs.push({ digest: actionDigest, data: action });
  return { actionDigest, commandDigest, inputRootDigest, blobs };
}

/** Builds `spec` and uploads all of its blobs; returns the built action. */
export async function uploadTestAction(client: ReapiClient, spec: TestActionSpec): Promise<BuiltAction> {
  const built = buildTestAction(spec);
  await client.uploadBlobs(built.blobs);
  return built;
}

/** The environment most test actions need: a PATH for /bin/sh and coreutils. */
export const TEST_PATH_ENV: Record<string, string> = { PATH: "/usr/bin:/bin" };

/**
 * Options for an embedded backend in tests of the REAPI semantics themselves (any command, no auth):
 * never what `goma server` runs.
 */
export const REAPI_SEMANTICS_TEST_OPTIONS = { unauthenticated: true, commandPolicy: "any" } as const;
