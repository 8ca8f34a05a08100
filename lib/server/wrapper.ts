/**
 * The wrapper every remote compile runs through (`.goma/run.sh` in the input root), Goma's `run.sh`
 * grown up (reference/goma-protocol.md §3.4). It:
 * 1. verifies the execution environment: files the worker provides itself (the compiler outside the
 *    project, /usr/include …) are listed with their SHA-256 in `.goma/env-manifest`, which is part of
 *    the input root and so of the action key; a worker whose files differ fails with exit 125 and a
 *    message instead of compiling with the wrong toolchain or headers. The embedded backend verifies
 *    the manifest itself before the action starts and says so in `GOMA_ENV_VERIFIED` (the manifest's
 *    SHA-256; lib/backend/env-verifier.ts); elsewhere verified manifests are remembered in the worker
 *    user's own `$XDG_CACHE_HOME` or `~/.cache` (`goma-env-verified/`, keyed by the files' stat data),
 *    never in a shared /tmp directory, and checked on every run when the worker has neither;
 * 2. relocates: arguments carry the client's project root as the token `@GOMA_ROOT@`, replaced by the
 *    actual input-root directory, and `-ffile-prefix-map=<exec root>=<client root>` maps paths in debug
 *    info and `__FILE__` back, so the object is byte-identical to a local compile in the user's tree.
 *    The map goes where the user's own prefix maps take precedence: first for gcc (the last map given
 *    wins), last for clang (`GOMA_PREFIX_MAP_LAST=1`: the first of equal prefixes wins);
 * 3. reports the exec root on stderr's first line (`GOMA_EXEC_ROOT=…`), which the server strips and
 *    uses to map paths in diagnostics back to the client's tree;
 * 4. refuses (exit 125, as for a manifest mismatch) when the compiler is not runnable on the worker:
 *    a missing compiler is the worker's problem, never the compile's result;
 * 5. runs the compiler in `$WORK_DIR` (the client's cwd relative to the root), and afterwards maps the
 *    exec root back to the client's root in the dep file (`GOMA_DEP_FILE`, from -MD/-MMD/-MF), so make and
 *    ninja see the user's paths even when the command used absolute ones (as CMake's do). Without
 *    `GOMA_CLIENT_ROOT` (a root-independent compile) it writes `@GOMA_ROOT@` there instead, and the server
 *    puts in the root of whichever client asked (lib/server/result.ts).
 */

/** Path of the wrapper inside the input root. */
export const WRAPPER_PATH = ".goma/run.sh";
/** Path of the environment manifest inside the input root (`sha256sum` format, sorted by path). */
export const MANIFEST_PATH = ".goma/env-manifest";
/** The token replaced by the exec root in arguments. */
export const ROOT_TOKEN = "@GOMA_ROOT@";
/** First-line marker on stderr. */
export const EXEC_ROOT_MARKER = "GOMA_EXEC_ROOT=";
/** Exit code of an environment mismatch (chosen outside what compilers return). */
export const ENV_MISMATCH_EXIT = 125;
/** stderr prefix of an environment mismatch. */
export const ENV_MISMATCH_PREFIX = "goma: execution environment differs from the client's:";

/** The wrapper's content. Changing it changes every action key (it is an input). */
export const WRAPPER_SCRIPT = `#!/bin/bash
# goma remote compile wrapper (see lib/server/wrapper.ts).
set -e
cd -P .
root=$PWD
printf '${EXEC_ROOT_MARKER}%s\\n' "$root" >&2
m=${MANIFEST_PATH}
# One process for the manifest's hash ("<sha256>  -"; no cut, no pipeline): this runs in every action.
# Unset GOMA_ENV_VERIFIED never equals h (the check runs).
h=-
if [ -s "$m" ] && [ -n "\${GOMA_ENV_VERIFIED:-}" ]; then h=$(sha256sum < "$m"); h=\${h%% *}; fi
if [ -s "$m" ] && [ "\${GOMA_ENV_VERIFIED:-}" != "$h" ]; then
  # Not verified by the worker itself (the embedded backend does, lib/backend/env-verifier.ts): check
  # here, remembering verified manifests in the worker user's own cache dir (none without HOME).
  c=\${XDG_CACHE_HOME:-\${HOME:+$HOME/.cache}}
  vdir=\${c:+$c/goma-env-verified}
  key=
  if [ -n "$vdir" ]; then
    key=$( { cat "$m"; sed 's/^[0-9a-f]*  //' "$m" | tr '\\n' '\\0' | xargs -0 stat -L -c '%n %s %Y %i' 2>&1; } | sha256sum | cut -c1-64)
  fi
  if [ -z "$vdir" ] || ! [ -O "$vdir" ] || ! [ -e "$vdir/$key" ]; then
    if ! bad=$(sha256sum --check --quiet --strict "$m" 2>&1); then
      printf '%s\\n%s\\n' "${ENV_MISMATCH_PREFIX}" "$bad" >&2
      exit ${ENV_MISMATCH_EXIT}
    fi
    if [ -n "$vdir" ]; then
      mkdir -p -m 700 "$vdir" 2>/dev/null || true
      if [ -O "$vdir" ]; then : > "$vdir/$key" 2>/dev/null || true; fi
    fi
  fi
fi
args=()
for a in "$@"; do args+=("\${a//${ROOT_TOKEN}/$root}"); done
if [ -n "\${GOMA_CLIENT_ROOT:-}" ]; then
  # The user's own prefix maps must win over ours: gcc applies the last one given, clang the most
  # specific and, among equal prefixes, the first one given.
  m="-ffile-prefix-map=$root=$GOMA_CLIENT_ROOT"
  if [ "\${GOMA_PREFIX_MAP_LAST:-}" = 1 ]; then args+=("$m"); else args=("\${args[0]}" "$m" "\${args[@]:1}"); fi
fi
cd "\${WORK_DIR:-.}"
if ! command -v -- "\${args[0]}" >/dev/null 2>&1; then
  printf '%s\\n%s\\n' "${ENV_MISMATCH_PREFIX}" "\${args[0]}: no such compiler on the worker" >&2
  exit ${ENV_MISMATCH_EXIT}
fi
if [ -n "\${GOMA_DEP_FILE:-}" ]; then
  # The dep file names inputs as the compiler saw them: map the exec root back to the client's.
  rc=0
  if [ -n "\${GOMA_ARGV0:-}" ]; then (exec -a "$GOMA_ARGV0" "\${args[@]}") || rc=$?; else "\${args[@]}" || rc=$?; fi
  d=\${GOMA_DEP_FILE//${ROOT_TOKEN}/$root}
  if [ "$rc" = 0 ] && [ -f "$d" ]; then
    # Without GOMA_CLIENT_ROOT (a root-independent compile, lib/server/root-independence.ts) the root is
    # written as the token, which the server replaces with the requesting client's root.
    c=$(<"$d")
    printf '%s\\n' "\${c//"$root"/\${GOMA_CLIENT_ROOT:-${ROOT_TOKEN}}}" > "$d"
  fi
  exit "$rc"
fi
# GOMA_ARGV0: the path the client ran the compiler by, when the worker runs it by another (a link outside
# the root and the env prefixes): clang finds its installation from argv[0], so the object stays the same.
if [ -n "\${GOMA_ARGV0:-}" ]; then exec -a "$GOMA_ARGV0" "\${args[@]}"; fi
exec "\${args[@]}"
`;
