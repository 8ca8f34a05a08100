/**
 * Rate limit for a repeated log line (auth failures: a misconfigured client or a scanner must not fill
 * the server's log). Within each window of `windowMs`, the first `burst` events are logged; the next one
 * logs a single "further … are counted, not logged" line, and the rest are only counted. The first event
 * of a later window logs how many were suppressed. State is two numbers: bounded whatever the input.
 */

/** Options of a {@link LogThrottle}. `now` is injectable for tests (ms). */
export interface LogThrottleOptions {
  /** Lines logged per window (default 5). */
  burst?: number;
  /** Window length in ms (default 60 s). */
  windowMs?: number;
  /** What is being counted, for the summary lines, e.g. "auth failures". */
  what: string;
  now?: () => number;
}

/** Decides per event whether to log it. */
export class LogThrottle {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: LogThrottleOptions) {
    this.burst = opts.burst ?? 5;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Records one event and returns the lines to log for it (zero, one or two): the event's own `line`
   * while within the burst, a notice when suppression starts, a summary when a new window begins.
   */
  lines(line: string): string[] {
    const t = this.now();
    const out: string[] = [];
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed) out.push(`${this.suppressed} ${this.opts.what} were not logged in the last ${Math.round((t - this.windowStart) / 1000)} s`);
      this.windowStart = t;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    this.inWindow++;
    if (this.inWindow <= this.burst) out.push(line);
    else {
      if (this.suppressed === 0) out.push(`further ${this.opts.what} are counted, not logged, for ${Math.round(this.windowMs / 1000)} s (the status page counts them all)`);
      this.suppressed++;
    }
    return out;
  }
}
