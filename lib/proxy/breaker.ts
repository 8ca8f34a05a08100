/**
 * Backs off remote compiles while the server or its backend keeps failing, as Goma's compiler_proxy
 * stops sending to an unhealthy backend (reference/goma-protocol.md §1.4, §4.2 "burst" mode): after
 * `threshold` consecutive infrastructure failures, compiles go local at once for a cool-down that
 * doubles with each further failure (5 s, 10 s, 20 s … at most `maxCoolDownMs`, 60 s). When the cool-down
 * ends, the next compile tries remote again ("half-open"): a success closes the breaker, a failure
 * opens it for the next, longer cool-down. So a backend that comes back is used again within seconds,
 * without restarting goma, and a dead one costs each compile nothing.
 */

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

  /** Records an infrastructure failure (server unreachable, 5xx, backend down). */
  failure(message: string): void {
    this.failures++;
    this.lastError = message;
    if (this.failures >= this.threshold) {
      const exp = Math.min(this.failures - this.threshold, 20);
      this.openUntil = this.now() + Math.min(this.baseMs * 2 ** exp, this.maxMs);
    }
  }

  /** Records a compile the server answered: closes the breaker. */
  success(): void {
    this.failures = 0;
    this.openUntil = 0;
    this.lastError = "";
  }

  /** For the dashboard. */
  state(): { consecutiveFailures: number; pausedForMs: number } {
    return { consecutiveFailures: this.failures, pausedForMs: Math.max(0, this.openUntil - this.now()) };
  }
}
