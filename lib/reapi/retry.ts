/**
 * Bounded exponential backoff for REAPI calls. Transient gRPC codes (UNAVAILABLE, and RESOURCE_EXHAUSTED
 * for batch RPCs) are retried a few times with jittered, growing delays; everything else is thrown at
 * once. These backoff delays are the only timers the client uses.
 *
 * Spec: REAPI "Clients SHOULD retry UNAVAILABLE/RESOURCE_EXHAUSTED with backoff"
 * (remote_execution.proto, service comments); reference/reapi-buildbarn.md §1.7.
 */
import { Code, GomaError } from "../util/status.ts";

/** Retry policy. Delays are in milliseconds. */
export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  attempts: number;
  /** Delay before the second attempt; doubles each time. */
  initialDelayMs: number;
  /** Cap on a single delay. */
  maxDelayMs: number;
  /** Codes that are retried. */
  codes: readonly Code[];
}

/** Default policy for unary calls and streams: 5 attempts, 100 ms → 2 s, UNAVAILABLE only. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 2000,
  codes: [Code.Unavailable],
};

/** Policy for CAS batch calls: also RESOURCE_EXHAUSTED (the server asks us to slow down). */
export const BATCH_RETRY: RetryPolicy = { ...DEFAULT_RETRY, codes: [Code.Unavailable, Code.ResourceExhausted] };

/**
 * The jittered delay before attempt `attempt + 1` (attempt counts from 1): uniformly in
 * [d/2, d] with d = min(initial · 2^(attempt-1), max).
 * @example backoffDelayMs(DEFAULT_RETRY, 1) // 50..100
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number): number {
  const d = Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return d / 2 + Math.random() * (d / 2);
}

/** Resolves after `ms`, or rejects with Canceled as soon as `signal` aborts. */
export function backoffSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GomaError(Code.Canceled, "Cancelled"));
    const onAbort = () => {
      clearTimeout(t);
      reject(new GomaError(Code.Canceled, "Cancelled"));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** True when `err` (any thrown value) carries a code the policy retries. */
export function isRetryable(policy: RetryPolicy, err: unknown): boolean {
  return policy.codes.includes(GomaError.from(err).code);
}

/**
 * Runs `fn` until it succeeds, throws a non-retryable error, or the attempts run out.
 * `fn` receives the attempt number (1-based).
 * @returns what `fn` returns.
 * @throws {GomaError} the last error, normalized with `GomaError.from` (code kept).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const e = GomaError.from(err);
      if (attempt >= policy.attempts || !isRetryable(policy, e) || signal?.aborted) throw e;
      await backoffSleep(backoffDelayMs(policy, attempt), signal);
    }
  }
}
