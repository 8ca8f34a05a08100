/**
 * The default ExecReqNormalizer (Goma `lib/execreq_normalizer.h`, its "as-is" policy, which is always
 * safe): the ExecReq with only what cannot change a compile's outputs dropped. The gcc, clang and fake
 * types use it; a type whose outputs ignore more (Goma's `keep_cwd`, `keep_args` …) supplies its own.
 */
import type { IExecReq } from "../goma/proto.ts";

/**
 * The ExecReq with everything dropped that cannot change a compile's outputs (Goma's ExecReqNormalizer
 * rule), for the local output cache's key (lib/proxy/local-output-cache.ts). Pure; `req` is not modified.
 *
 * Dropped: `requester_info` (pid, retry, compiler_proxy_id, build id …), `requester_env`,
 * `cache_policy`, `trace`, the order of the inputs (sorted by name), each input's content (the key covers
 * its `hash_key` only), and the `hash_key` of an input that is a toolchain file with a digest in
 * `toolchain_specs` (sent hash-less first and with content when the server asks: the spec's digest is the
 * one that counts). Kept: cwd, args, env, command_spec (with local_compiler_path, unlike Goma: our server
 * runs the compiler through its link chain), subprograms, input names and hash keys, expected outputs,
 * hermetic mode and toolchain specs.
 * @example normalizeExecReq({ ...req, requesterInfo: { pid: 1 } }) // same key as with pid: 2
 */
export function normalizeExecReq(req: IExecReq): IExecReq {
  const cwd = req.cwd ?? "";
  const abs = (f: string) => (f.startsWith("/") ? f : `${cwd}/${f}`);
  const specHashed = new Set((req.toolchainSpecs ?? []).filter((s) => s.hash).map((s) => s.path ?? ""));
  const input = (req.input ?? [])
    .map((i) => ({ filename: i.filename ?? "", hashKey: specHashed.has(abs(i.filename ?? "")) ? "" : (i.hashKey ?? "") }))
    .sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : a.hashKey < b.hashKey ? -1 : a.hashKey > b.hashKey ? 1 : 0));
  const { requesterInfo: _ri, requesterEnv: _re, cachePolicy: _cp, trace: _t, input: _in, ...rest } = req;
  return { ...rest, input };
}
