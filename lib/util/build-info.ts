/**
 * Who built this binary, from what commit and when: `scripts/build.sh` fills these in with `bun build
 * --define`; run from source (Deno, `bun cmd/goma.ts`) they are the running user, commit `0` and the
 * process's start.
 */
declare const __GOMA_BUILD_USER__: string | undefined;
declare const __GOMA_BUILD_HASH__: string | undefined;
declare const __GOMA_BUILD_TIME__: number | undefined;

/** The build's user, git commit (lowercase hex) and time (Unix seconds). */
export interface BuildInfo {
  user: string;
  hash: string;
  unixTime: number;
}

/** This binary's {@link BuildInfo}. */
export function buildInfo(): BuildInfo {
  const user = typeof __GOMA_BUILD_USER__ === "string" ? __GOMA_BUILD_USER__ : process.env.USER || "unknown";
  const hash = typeof __GOMA_BUILD_HASH__ === "string" && /^[0-9a-f]+$/.test(__GOMA_BUILD_HASH__) ? __GOMA_BUILD_HASH__ : "0";
  const unixTime = typeof __GOMA_BUILD_TIME__ === "number" ? __GOMA_BUILD_TIME__ : Math.floor(Date.now() / 1000 - process.uptime());
  return { user: user.replace(/\s+/g, "_"), hash, unixTime };
}

/**
 * The User-Agent compiler_proxy sends, which Goma's servers parse for their client statistics
 * (`compiler-proxy built by \S+ at ([0-9a-f]+)@(\d+) on .*`; reference/goma-protocol.md §1.2), e.g.
 * `compiler-proxy built by alice at 3baa0d2…@1764624000 on 2026-12-01T21:20:00Z `.
 */
export function gomaUserAgent(b: BuildInfo = buildInfo()): string {
  const date = new Date(b.unixTime * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return `compiler-proxy built by ${b.user} at ${b.hash}@${b.unixTime} on ${date} `;
}
