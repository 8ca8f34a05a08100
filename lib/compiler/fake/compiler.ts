/**
 * The fake compiler itself: a POSIX shell script (sh, awk and sha256sum, which every worker has) that the
 * fake type claims as `fake-cc`. Tests write it where a worker may run it ({@link writeFakeCompiler}).
 *
 * `fake-cc [-c] SRC [-o OUT] [-MF DEP]`:
 * - reads SRC and, transitively, every file a line `#fake-include "name"` names (relative to the
 *   including file's directory, normalized as path.normalize does), in first-seen order — the list the fake type's include processor
 *   gives (lib/compiler/fake/index.ts);
 * - writes OUT (default SRC minus its extension plus `.o`): `fake-cc object v1`, the arguments, then one
 *   `<path> <sha256>` line per file read: deterministic, and byte-identical wherever it runs from the same
 *   cwd-relative command;
 * - with `-MF DEP`, writes a make rule `OUT: SRC inc…` naming those files;
 * - fails (exit 1, a message on stderr) when SRC's name contains "fail" (Goma's Fake type's
 *   filename-driven failure), when a file cannot be read, or (exit 2) on an unknown flag.
 * Spec: Goma `client/fake/`, `lib/fake_flags.cc`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The script's text (mode 0755 when written). */
export const FAKE_COMPILER_SCRIPT = `#!/bin/sh
# fake-cc: goma's fake compiler (lib/compiler/fake/compiler.ts). Not a compiler.
set -eu
args="$*"
src= out= dep=
while [ $# -gt 0 ]; do
  case "$1" in
    -c) ;;
    -o) out=$2; shift ;;
    -MF) dep=$2; shift ;;
    --version) echo "fake-cc 1"; exit 0 ;;
    -*) echo "fake-cc: unknown flag $1" >&2; exit 2 ;;
    *) if [ -n "$src" ]; then echo "fake-cc: more than one input: $src $1" >&2; exit 2; fi; src=$1 ;;
  esac
  shift
done
if [ -z "$src" ]; then echo "fake-cc: no input file" >&2; exit 2; fi
case "$src" in *fail*) echo "fake-cc: $src: failing as asked (the name contains \\"fail\\")" >&2; exit 1 ;; esac
if [ -z "$out" ]; then out=\${src%.*}.o; fi
files=$(awk -v src="$src" '
function dirof(p) { if (p ~ /\\//) { sub(/\\/[^\\/]*$/, "", p); return p "/" } return "" }
# A path without "." and "dir/.." segments (as path.normalize), so each file is read once.
function norm(p,   n, a, o, k, i, abs) {
  abs = substr(p, 1, 1) == "/"; n = split(p, a, "/"); k = 0
  for (i = 1; i <= n; i++) {
    if (a[i] == "" || a[i] == ".") continue
    if (a[i] == ".." && k > 0 && o[k] != "..") { k--; continue }
    if (a[i] == ".." && abs) continue
    o[++k] = a[i]
  }
  p = abs ? "/" : ""
  for (i = 1; i <= k; i++) p = p (i > 1 ? "/" : "") o[i]
  return p == "" ? "." : p
}
BEGIN {
  n = 1; q[1] = norm(src); seen[q[1]] = 1
  for (i = 1; i <= n; i++) {
    f = q[i]; d = dirof(f)
    while ((r = (getline line < f)) > 0) {
      if (match(line, /^#fake-include "[^"]+"/)) {
        p = norm(d substr(line, 16, RLENGTH - 16))
        if (!(p in seen)) { seen[p] = 1; q[++n] = p }
      }
    }
    if (r < 0) { print "fake-cc: " f ": cannot be read" > "/dev/stderr"; exit 1 }
    close(f)
  }
  for (i = 1; i <= n; i++) print q[i]
}')
{
  echo "fake-cc object v1"
  echo "args: $args"
  for f in $files; do printf '%s %s\\n' "$f" "$(sha256sum < "$f" | cut -c1-64)"; done
} > "$out"
if [ -n "$dep" ]; then
  { printf '%s:' "$out"; for f in $files; do printf ' %s' "$f"; done; echo; } > "$dep"
fi
`;

/**
 * Writes the fake compiler as `<dir>/fake-cc` (mode 0755; `dir` is created) and returns its path.
 * @throws the fs error when it cannot be written.
 */
export function writeFakeCompiler(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "fake-cc");
  fs.writeFileSync(file, FAKE_COMPILER_SCRIPT, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return file;
}
