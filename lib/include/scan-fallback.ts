/**
 * The one way the include scanner gives up. Whenever it meets a construct it does not model, or an
 * error the real compiler would report (a missing header, a malformed `#if`, an active `#error`), it
 * throws a {@link ScanFallback}; `scanInputs` turns it into `ScanResult.fallback` and the proxy runs the
 * compiler's own `-M` instead. Never a guessed input list.
 *
 * Spec: reference/goma-protocol.md §5 ("Failure handling": fail to update required files → fallback).
 */

/** Why the scanner gave up, grouped for the dashboard counters (`fallback.<kind>`). */
export type FallbackKind =
  /** The compile itself would fail here (missing header, `#error`, bad `#if`): -M reports it. */
  | "error"
  /** A construct or option the scanner does not model (`#embed`, `-traditional-cpp`, `__COUNTER__` in `#if`). */
  | "unsupported"
  /** Asking the compiler for its predefined macros or builtin answers failed. */
  | "probe"
  /** A file could not be read. */
  | "io";

/**
 * Thrown inside the scanner; caught only by `scanInputs`.
 * @example throw new ScanFallback("error", `${file}:${line}: "foo.h" not found`);
 */
export class ScanFallback extends Error {
  readonly kind: FallbackKind;

  constructor(kind: FallbackKind, message: string) {
    super(message);
    this.name = "ScanFallback";
    this.kind = kind;
  }
}
