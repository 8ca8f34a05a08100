/**
 * Backs off remote compiles while the server or its backend keeps failing, as Goma's compiler_proxy
 * stops sending to an unhealthy backend (reference/goma-protocol.md §1.4, §4.2 "burst" mode): after
 * `threshold` consecutive infrastructure failures, compiles go local at once for a cool-down that
 * doubles with each further failure (5 s, 10 s, 20 s … at most `maxCoolDownMs`, 60 s). When the cool-down
 * ends, the next compile tries remote again ("half-open"): a success closes the breaker, a failure
 * opens it for the next, longer cool-down. So a backend that comes back is used again within seconds,
 * without restarting goma, and a dead one costs each compile nothing.
 *
 * One outage is one event, however many requests were in flight: each request takes a ticket
 * ({@link Breaker.begin}) when it is sent, and a failure counts only when no failure or success was
 * recorded since that ticket (at -j8 a 3 s outage once failed 8 requests at a time and paused remote
 * compiles for 60 s). Only an unreachable or unavailable server is an outage ({@link isOutage}); a
 * per-request error (a corrupt blob, a refused request, a 500 for one action) is not.
 */
import { Code, GomaError } from "../util/status.ts";

/**
 * True when an error says the server (or its backend) is unreachable or unavailable: Unavailable
 * (connection refused or reset, HTTP 502/503) or DeadlineExceeded (timeout, HTTP 504). Every other
 * code is about one request and leaves the breaker alone.
 */
export function isOutage(err: unknown): boolean {
  const c = GomaError.from(err).code;
  return c === Code.Unavailable || c === Code.DeadlineExceeded;
}

/** Options of a {@link Breaker}. `now` is injectable for tests (ms since the epoch). */
export interface BreakerOptions {
  threshold?: number;
  baseCoolDownMs?: number;
  maxCoolDownMs?: number;
  now?: () => number;
}

/** Consecutive-failure circuit breaker. Not thread-aware: the proxy runs on one event loop. */
export class Breaker {
  private failures = 0;
  private openUntil = 0;
  private lastError = "";
  /** Incremented at every counted failure and every success; tickets compare against it. */
  private epoch = 0;
  private readonly threshold: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;

  constructor(opts: BreakerOptions = {}) {
    this.threshold = opts.threshold ?? 3;
    this.baseMs = opts.baseCoolDownMs ?? 5000;
    this.maxMs = opts.maxCoolDownMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Returns why remote compiles are off right now, or undefined when a compile may go remote.
   * @example breaker.blocked() // "remote compiles paused for 4 s after 5 consecutive failures: …"
   */
  blocked(): string | undefined {
    const left = this.openUntil - this.now();
    if (left <= 0) return undefined;
    return `remote compiles paused for ${Math.ceil(left / 1000)} s after ${this.failures} consecutive failures: ${this.lastError}`;
  }

  /** A ticket for a request about to be sent: pass it to {@link failure} when the request fails. */
  begin(): number {
    return this.epoch;
  }

  /**
   * Records an outage failure (server unreachable, 503, backend down). With `ticket` (from
   * {@link begin}), a failure of a request sent before the last counted failure or success is part of
   * an event already recorded, and is ignored; without it, every failure counts.
   */
  failure(message: string, ticket?: number): void {
    if (ticket !== undefined && ticket < this.epoch) return;
    this.epoch++;
    this.failures++;
    this.lastError = message;
    if (this.failures >= this.threshold) {
      const exp = Math.min(this.failures - this.threshold, 20);
      this.openUntil = this.now() + Math.min(this.baseMs * 2 ** exp, this.maxMs);
    }
  }

  /** Records a compile the server answered: closes the breaker. */
  success(): void {
    this.epoch++;
    this.failures = 0;
    this.openUntil = 0;
    this.lastError = "";
  }

  /** For the dashboard. */
  state(): { consecutiveFailures: number; pausedForMs: number } {
    return { consecutiveFailures: this.failures, pausedForMs: Math.max(0, this.openUntil - this.now()) };
  }
}
