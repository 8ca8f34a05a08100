/**
 * How the embedded backend presents a stored ActionResult: a completeness check (an AC entry whose
 * outputs have vanished from the CAS is a miss, like Buildbarn's CompletenessCheckingBlobAccess) and
 * inlining of stdout/stderr/output files when a request asks for it (small blobs only).
 *
 * Spec: REAPI GetActionResultRequest.inline_stdout/inline_stderr/inline_output_files,
 * ExecuteRequest.inline_*; "the server MAY omit inlining if the blob is too large".
 */
import type { Cas } from "../blobstore/cas.ts";
import { type Digest, toDigest } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import R = build.bazel.remote.execution.v2;

/** Largest blob inlined into an ActionResult: 1 MiB. */
export const MAX_INLINE_BYTES = 1024 * 1024;

/** Which outputs to inline. `files` are output paths as in `OutputFile.path`. */
export interface InlineRequest {
  stdout?: boolean;
  stderr?: boolean;
  files?: readonly string[];
}

/** Every blob an ActionResult references, including files inside its output Trees. */
async function referencedDigests(cas: Cas, result: R.IActionResult): Promise<Digest[] | undefined> {
  const out: Digest[] = [];
  const add = (d: R.IDigest | null | undefined) => { if (d) out.push(toDigest(d)); };
  for (const f of result.outputFiles ?? []) add(f.digest);
  add(result.stdoutDigest);
  add(result.stderrDigest);
  for (const od of result.outputDirectories ?? []) {
    if (od.rootDirectoryDigest?.hash) add(od.rootDirectoryDigest);
    if (!od.treeDigest?.hash) continue;
    const treeDigest = toDigest(od.treeDigest);
    const bytes = await cas.get(treeDigest);
    if (!bytes) return undefined;
    const tree = R.Tree.decode(bytes);
    for (const dir of [tree.root, ...tree.children]) {
      for (const f of dir?.files ?? []) add(f.digest);
    }
  }
  return out;
}

/**
 * True when every blob the result references is in the CAS with the right content (each is hashed: a
 * hit is served only when its outputs are intact; a corrupt one is removed, so the action runs again).
 * @returns false also when a referenced Tree cannot be decoded.
 */
export async function isComplete(cas: Cas, result: R.IActionResult): Promise<boolean> {
  try {
    const digests = await referencedDigests(cas, result);
    if (digests === undefined) return false;
    const ok = await Promise.all(digests.map((d) => cas.verify(d)));
    return ok.every(Boolean);
  } catch {
    return false;
  }
}

async function inlineBlob(cas: Cas, d: R.IDigest | null | undefined): Promise<Uint8Array | undefined> {
  if (!d) return undefined;
  const digest = toDigest(d);
  if (digest.sizeBytes > MAX_INLINE_BYTES) return undefined;
  return cas.get(digest);
}

/**
 * A copy of `result` with the requested outputs inlined (`stdout_raw`, `stderr_raw`,
 * `OutputFile.contents`) when they are at most {@link MAX_INLINE_BYTES}; the digests stay set.
 */
export async function withInlinedOutputs(cas: Cas, result: R.IActionResult, req: InlineRequest): Promise<R.IActionResult> {
  const copy: R.IActionResult = { ...result };
  if (req.stdout) copy.stdoutRaw = (await inlineBlob(cas, result.stdoutDigest)) ?? result.stdoutRaw;
  if (req.stderr) copy.stderrRaw = (await inlineBlob(cas, result.stderrDigest)) ?? result.stderrRaw;
  if (req.files && req.files.length > 0) {
    const wanted = new Set(req.files);
    copy.outputFiles = await Promise.all((result.outputFiles ?? []).map(async (f) =>
      wanted.has(f.path ?? "") ? { ...f, contents: (await inlineBlob(cas, f.digest)) ?? f.contents } : f));
  }
  return copy;
}
