/**
 * gcc and clang (RemotePolicy.rootIndependent): when a compile's outputs provably do not depend on where
 * the client's checkout is, the Action may
 * leave the client root out (issue 12 §4: cross-checkout hits with identical objects). The server
 * tokenizes the root in every argument (`@GOMA_ROOT@`, lib/server/exec-root.ts) and the input tree is
 * root-relative, so the one remaining trace of the root in the Action is `GOMA_CLIENT_ROOT`, the target of
 * the wrapper's own `-ffile-prefix-map=<exec root>=<client root>` (lib/server/wrapper.ts). That map is
 * needed only where the compiler writes a path under the root into an output:
 * - debug info (DW_AT_comp_dir is the cwd, DW_AT_name and the line table name the sources): present unless
 *   no `-g` level is on (`-g0` last, or none given); covered when the user's own `-ffile-prefix-map` or
 *   `-fdebug-prefix-map` maps the root itself;
 * - `__FILE__` (and `__BASE_FILE__`, assert messages): a path under the root appears only when the
 *   compile names a file or directory under the root by an absolute path (the source, `-I`, `-include`,
 *   `CPATH`…); covered when `-ffile-prefix-map` or `-fmacro-prefix-map` maps the root itself. Relative
 *   names stay relative in `__FILE__`, so a compile that names nothing under the root absolutely needs
 *   no map for it.
 * A map counts only when its old prefix is exactly the root (gcc and clang rewrite any path that starts
 * with it) and its new prefix does not name the root. A map whose old prefix is an ancestor of the root
 * (`-ffile-prefix-map=/home/u=~`) keeps the checkout's name in the outputs: dependent. So do coverage
 * instrumentation (the object embeds the absolute `.gcda` path) and `-frecord-gcc-switches` (the object
 * embeds the command line as the worker ran it).
 * The dep file (`-MD`) names inputs by path too: the wrapper writes the root there as the token when
 * `GOMA_CLIENT_ROOT` is absent, and the server replaces it with the requesting client's root
 * (lib/server/result.ts), so each checkout gets its own paths from one cached result.
 * Spec: gcc manual "Debugging Options" (-g levels), "Preprocessor Options" (-fmacro-prefix-map),
 * "Overall Options" (-ffile-prefix-map); clang's options of the same names.
 */

/** Flags whose next argument (or joined value) is an output path, which no output embeds. */
const OUTPUT_PATH_FLAGS = ["-o", "-MF", "-MT", "-MQ"];

/** `-g` spellings that turn debug info on (any level above 0). */
const DEBUG_ON = /^-g(gdb[1-3]?|dwarf(-[2-5])?|[1-3]|line-tables-only|line-directives-only|split-dwarf|codeview|btf|ctf[1-2]?|stabs\+?|xcoff\+?|vms[1-3]?)?$/;
/** `-g` spellings that turn debug info off. */
const DEBUG_OFF = /^-g(gdb|ctf|stabs|xcoff|vms)?0$/;
/** Options after which the outputs name the checkout however the paths are mapped. */
const ALWAYS_DEPENDENT = /^(--coverage|-fprofile-arcs|-ftest-coverage|-fprofile-generate(=.*)?|-fprofile-instr-generate(=.*)?|-fcs-profile-generate(=.*)?|-frecord-gcc-switches|-fprofile-update=.*|-fprofile-dir=.*|-fprofile-prefix-path=.*)$/;

const PREFIX_MAP = /^-f(file|debug|macro)-prefix-map=(.*)$/;

/**
 * True when the outputs of the compile whose arguments are `args` (argv[0] first, every occurrence of the
 * client root already replaced by `token`) do not depend on the root: see the module comment.
 * @param args the Command's compiler arguments after root tokenization (argv[0] is not looked at).
 * @param root the client root (absolute), to recognise prefix maps of its ancestors.
 * @param token the root token (`@GOMA_ROOT@`).
 * @param envValues values of the forwarded environment variables, tokenized too (a `CPATH` under the root
 *   makes `__FILE__` absolute, as an `-I` would).
 */
export function gccStyleRootIndependent(args: readonly string[], root: string, token: string, envValues: readonly string[] = []): boolean {
  let debug = false;
  let debugMapped = false;
  let macroMapped = false;
  let absoluteUnderRoot = envValues.some((v) => v.includes(token));
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (ALWAYS_DEPENDENT.test(a)) return false;
    if (a.startsWith("@") && !a.startsWith(token)) return false; // a response file: arguments this check cannot see
    if (DEBUG_OFF.test(a)) debug = false;
    else if (DEBUG_ON.test(a)) debug = true;
    const map = PREFIX_MAP.exec(a);
    if (map) {
      const eq = map[2]!.indexOf("=");
      const from = eq < 0 ? map[2]! : map[2]!.slice(0, eq);
      const to = eq < 0 ? "" : map[2]!.slice(eq + 1);
      if (to.includes(token)) return false;
      const fromDir = from.replace(/\/+$/, "");
      if (fromDir === token) {
        if (map[1] !== "macro") debugMapped = true;
        if (map[1] !== "debug") macroMapped = true;
      } else if (fromDir === "" || root === fromDir || root.startsWith(`${fromDir}/`)) {
        return false; // "/", "" or an ancestor of the root: the checkout's name survives the map
      }
      continue;
    }
    if (OUTPUT_PATH_FLAGS.includes(a)) {
      i++; // the output path itself
      continue;
    }
    if (OUTPUT_PATH_FLAGS.some((f) => a.startsWith(f) && a.length > f.length)) continue; // joined: -ofoo.o, -MFfoo.d
    if (a.includes(token)) absoluteUnderRoot = true;
  }
  return (!debug || debugMapped) && (!absoluteUnderRoot || macroMapped);
}
