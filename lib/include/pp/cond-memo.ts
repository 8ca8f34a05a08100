/**
 * Reuse of `#if`/`#elif` values across scans. A condition's value is a function of its tokens, of the
 * macro-table entries its expansion consulted, and of the compiler probe (C or C++, char signedness,
 * `__has_*` answers). Macro definitions are immutable objects shared between scans (a `#define`
 * directive parses once; `-D` and builtins are shared by text), so when every consulted name maps to
 * the same object as before, the value is the same — without expanding or evaluating anything.
 *
 * Spec: none (an optimization); correctness argued above and checked by the corpus test.
 */
import type { Directive } from "./directives.ts";
import type { Consulted } from "./expand.ts";
import type { Macro } from "./macros.ts";

/**
 * Values remembered per `#if`: one per macro context it is commonly evaluated in (C and C++, several
 * compilers, and headers like <stddef.h> that are entered again and again with other `__need_*` macros).
 */
const MEMO_ENTRIES = 16;

/**
 * The remembered value of `d` for these macros and probe, if any.
 * @param ctx the scan's probe's `id` (probe/probe.ts), the part of a condition's context that is not macros.
 */
export function recall(d: Directive, macros: ReadonlyMap<string, Macro>, ctx: string): boolean | undefined {
  const memo = d.memo;
  if (memo === undefined) return undefined;
  for (let k = memo.length - 1; k >= 0; k--) {
    const e = memo[k]!;
    if (e.ctx !== ctx) continue;
    let same = true;
    for (let j = 0; j < e.names.length; j++) {
      if (macros.get(e.names[j]!) !== e.macros[j]) {
        same = false;
        break;
      }
    }
    if (same) return e.value;
  }
  return undefined;
}

/** Remembers `value` for `d` (the oldest of {@link MEMO_ENTRIES} goes). `used` null: not reusable. */
export function remember(d: Directive, ctx: string, used: Consulted, value: boolean): void {
  if (used === null) return;
  const list = (d.memo ??= []);
  if (list.length >= MEMO_ENTRIES) list.shift();
  list.push({ ctx, names: used.names, macros: used.macros, value });
}
