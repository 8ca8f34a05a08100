/**
 * The REAPI Action of one ExecReq, built from its resolved inputs without any I/O: the input root
 * (lib/server/exec-root.ts), the input tree with goma's wrapper and environment manifest
 * (lib/server/wrapper.ts), the Command (given by the caller: ExecAdapter's `buildCommand`) and the
 * Action, each with its Digest, plus every blob the CAS must hold for it. The same request and inputs
 * give the same bytes and digests, whatever the client root is called (paths in the tree are relative
 * to the root; the Command has the root tokenized).
 *
 * Spec: reference/goma-protocol.md §3 (remoteexec_proxy's ExecReq → Action), REAPI v2 `Action`,
 * `Command`, `Directory` (reference/reapi-buildbarn.md §1.5).
 */
import { posix as path } from "node:path";
import { goma, type IExecReq } from "../goma/proto.ts";
import { R } from "../reapi/proto.ts";
import { type Digest, digestOf } from "../digest/digest.ts";
import { buildInputTree, type TreeFile } from "./input-tree.ts";
import { chooseRoot, isUnder } from "./exec-root.ts";
import { MANIFEST_PATH, WRAPPER_PATH, WRAPPER_SCRIPT } from "./wrapper.ts";

const CachePolicy = goma.ExecReq.CachePolicy;
const utf8 = new TextEncoder();

/** One ExecReq input with its content Digest (ExecAdapter's input resolution). */
export interface ResolvedInput {
  /** ExecReq.Input.filename, as the client wrote it (relative to cwd or absolute). */
  filename: string;
  /** The absolute, normalized path on the client. */
  abs: string;
  /** REAPI Digest of the file's content. */
  digest: Digest;
  /** ToolchainSpec.is_executable of this path (false for ordinary inputs). */
  isExecutable: boolean;
  /** The content when the server has it (embedded in the request or in its file store); read only to upload it. */
  content: () => Uint8Array | undefined;
}

/**
 * A blob the CAS must hold for the action, by digest: bytes built here (Directories, wrapper, manifest,
 * Command, Action) or an input, whose content is read from the file store only when it is uploaded.
 */
export interface ActionBlob {
  digest: Digest;
  bytes?: Uint8Array;
  input?: ResolvedInput;
}

/**
 * Builds the Command for an input root: ExecAdapter's `buildCommand` (argv and env with the root
 * tokenized, outputs sorted, platform). Output paths are relative to `root`.
 */
export type CommandBuilder = (root: string, outputFiles: string[], outputDirs: string[]) => R.ICommand;

/** What {@link buildAction} needs besides the request. */
export interface ActionOptions {
  /** Directories the worker provides (exec-root.ts): inputs under them outside the root go to the manifest. */
  envPrefixes: string[];
  /** Action.platform properties, already sorted by name then value (REAPI requires the order). */
  platform: { name: string; value: string }[];
  /** Action.timeout in seconds. */
  actionTimeoutSec: number;
  command: CommandBuilder;
}

/** The action of one ExecReq, ready to look up, upload and execute. */
export interface BuiltAction {
  /** The client directory that became the input root (absolute, never `/`). */
  root: string;
  command: R.ICommand;
  commandDigest: Digest;
  /** Digest of the root Directory (Action.input_root_digest). */
  inputRootDigest: Digest;
  action: R.IAction;
  actionDigest: Digest;
  /** Every blob of the action by digest hash: inputs in the root, Directories, wrapper, manifest, Command, Action. */
  blobs: Map<string, ActionBlob>;
  /** ExecReq.expected_output_files by their path relative to the root (the ActionResult's names). */
  outputsByRel: Map<string, string>;
}

/** Why a request cannot become an action (ExecResp error BAD_REQUEST with this message). */
export interface ActionProblem {
  badRequest: string;
}

/**
 * The Action of `req` over `inputs` (every input resolved; see ExecAdapter). Pure: no I/O, no clock;
 * the same arguments give byte-identical blobs.
 *
 * - The root is the common directory of cwd, the outputs and the inputs not under `envPrefixes`
 *   (`chooseRoot`); inputs inside it go into the tree, the others into the manifest
 *   (`<sha256>  <abs path>`, sorted by path) that the wrapper checks on the worker.
 * - The tree holds those inputs, `.goma/run.sh`, `.goma/env-manifest`, the output directories and cwd
 *   (as empty directories), and the toolchain symlinks inside the root (ToolchainSpec.symlink_path).
 * - Action: the Command's digest, the root's, `timeout`, `do_not_cache` for CachePolicy LOOKUP_ONLY,
 *   and `platform`.
 *
 * @returns the action, or the problem when the request cannot run remotely: no expected output, no
 *   common root below `/`, an input in goma's reserved `.goma/`.
 */
export function buildAction(req: IExecReq, cwd: string, inputs: readonly ResolvedInput[], opts: ActionOptions): BuiltAction | ActionProblem {
  // Input root.
  const outputs = (req.expectedOutputFiles ?? []).map((f) => path.resolve(cwd, f));
  const outputDirs = (req.expectedOutputDirs ?? []).map((f) => path.resolve(cwd, f));
  if (!outputs.length && !outputDirs.length) return { badRequest: "expected_output_files is empty: goma needs the outputs to collect" };
  const envPrefixes = opts.envPrefixes;
  const choice = chooseRoot(cwd, [...outputs, ...outputDirs], inputs.map((r) => r.abs), envPrefixes);
  const root = choice.root;
  if (root === "/") {
    const outside = inputs.filter((r) => !envPrefixes.some((p) => r.abs.startsWith(p))).map((r) => r.abs);
    return { badRequest: `no common root for the inputs below ${envPrefixes.join(" ")}: ${[cwd, ...outside.slice(0, 3)].join(", ")}; ` +
      `add their top directory to the server's --env-prefix if workers provide it` };
  }
  const rel = (abs: string) => path.relative(root, abs) || ".";
  const inRoot = new Set(choice.inRoot);

  // Tree: inputs in the root, the wrapper, the environment manifest.
  const blobs = new Map<string, ActionBlob>();
  const treeFiles: TreeFile[] = [];
  const manifest: string[] = [];
  for (const r of inputs) {
    if (inRoot.has(r.abs)) {
      if (rel(r.abs).startsWith(".goma/")) return { badRequest: `input "${r.filename}" collides with goma's reserved directory .goma/` };
      treeFiles.push({ path: rel(r.abs), digest: r.digest, isExecutable: r.isExecutable });
      blobs.set(r.digest.hash, { digest: r.digest, input: r });
    } else {
      manifest.push(`${r.digest.hash}  ${r.abs}`);
    }
  }
  const addBlob = (p: string, bytes: Uint8Array, isExecutable: boolean) => {
    const digest = digestOf(bytes);
    treeFiles.push({ path: p, digest, isExecutable });
    blobs.set(digest.hash, { digest, bytes });
  };
  addBlob(WRAPPER_PATH, utf8.encode(WRAPPER_SCRIPT), true);
  manifest.sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
  addBlob(MANIFEST_PATH, utf8.encode(manifest.length ? manifest.join("\n") + "\n" : ""), false);
  const emptyDirs = [...outputs.map((o) => rel(path.dirname(o))), ...outputDirs.map(rel), rel(cwd)].filter((d) => d !== ".");
  // Toolchain symlinks inside the root (a project's tools/gcc -> /usr/bin/gcc): argv0 runs through them.
  const links = [...toolchainSpecsByPath(req, cwd).entries()]
    .filter(([abs, sp]) => sp.symlinkPath && isUnder(abs, root))
    .map(([abs, sp]) => ({ path: rel(abs), target: sp.symlinkPath! }));
  const tree = buildInputTree(treeFiles, emptyDirs, links);
  for (const d of tree.directories.values()) blobs.set(d.digest.hash, { digest: d.digest, bytes: d.bytes });

  // Command and Action.
  const command = opts.command(root, outputs.map(rel), outputDirs.map(rel));
  const commandBytes = R.Command.encode(command).finish();
  const commandDigest = digestOf(commandBytes);
  blobs.set(commandDigest.hash, { digest: commandDigest, bytes: commandBytes });
  const policy = req.cachePolicy ?? CachePolicy.LOOKUP_AND_STORE;
  const action: R.IAction = {
    commandDigest,
    inputRootDigest: tree.rootDigest,
    timeout: { seconds: opts.actionTimeoutSec },
    doNotCache: policy === CachePolicy.LOOKUP_ONLY || undefined,
    platform: { properties: opts.platform },
  };
  const actionBytes = R.Action.encode(action).finish();
  const actionDigest = digestOf(actionBytes);
  blobs.set(actionDigest.hash, { digest: actionDigest, bytes: actionBytes });
  const outputsByRel = new Map((req.expectedOutputFiles ?? []).map((f) => [rel(path.resolve(cwd, f)), f]));
  return { root, command, commandDigest, inputRootDigest: tree.rootDigest, action, actionDigest, blobs, outputsByRel };
}

/**
 * ExecReq.toolchain_specs by absolute path (resolved against cwd); a later spec of the same path
 * replaces an earlier one.
 */
export function toolchainSpecsByPath(req: IExecReq, cwd: string): Map<string, goma.IToolchainSpec> {
  return new Map((req.toolchainSpecs ?? []).map((s) => [path.resolve(cwd, s.path ?? ""), s]));
}
