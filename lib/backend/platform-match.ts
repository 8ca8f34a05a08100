/**
 * Platform matching for the embedded "worker", by Buildbarn's rule: the action's platform must *equal*
 * the worker's, the same set of properties with the same values (no subset: an action that names fewer
 * properties than the worker offers, or none, matches no worker; case matters: `OSFamily=Linux` does not
 * match `linux`). Properties must be sorted by name, then value, without duplicates (REAPI; Buildbarn
 * answers INVALID_ARGUMENT otherwise). The platform is read from `Action.platform` only, as Buildbarn
 * does since 2026-03: the deprecated `Command.platform` is ignored (Bazel ≥ 4 and goma fill
 * `Action.platform`). A mismatch fails Execute with FAILED_PRECONDITION in Buildbarn's words, plus what
 * this worker offers.
 *
 * What the worker offers is goma server's own platform (`OSFamily=linux` unless `--platform-property`
 * says otherwise, plus `container-image` with `--platform-container-image`), so goma's own actions
 * always match, and a Bazel config that works here (e.g. `--remote_default_exec_properties=OSFamily=linux`)
 * works on a Buildbarn worker with that platform.
 *
 * Spec: REAPI Action.platform (v2.2+) / Command.platform (deprecated), Platform (sorted properties),
 * platform.md; reference/reapi-buildbarn.md §3, §4.5.
 */
import { build } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import R = build.bazel.remote.execution.v2;

/** A platform as a list of name/value pairs, in REAPI order (sorted by name, then value). */
export type PlatformProperties = { name: string; value: string }[];

/**
 * The platform properties an action asks for: `Action.platform` (`command` is accepted for the caller's
 * convenience; its deprecated `platform` is ignored, as in Buildbarn).
 * @example requestedPlatform({ platform: { properties: [{ name: "OSFamily", value: "linux" }] } }, {})
 */
export function requestedPlatform(action: R.IAction, _command?: R.ICommand): PlatformProperties {
  const props = action.platform?.properties ?? [];
  return props.map((p) => ({ name: p.name ?? "", value: p.value ?? "" }));
}

/** `{ OSFamily: "linux" }` as sorted REAPI properties. */
export function offeredPlatform(offered: Record<string, string>): PlatformProperties {
  return Object.entries(offered).map(([name, value]) => ({ name, value })).sort(compareProps);
}

/** -1, 0 or 1: REAPI's order of platform properties (by name, then value; code-point order). */
function compareProps(a: { name: string; value: string }, b: { name: string; value: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
}

/**
 * Checks that the requested platform equals the offered one exactly (Buildbarn's rule).
 * @throws {GomaError} InvalidArgument `Platform properties are not lexicographically sorted …` or
 * `… contain a duplicate …`; FailedPrecondition `No workers exist for instance name "<name>" platform
 * {"properties":[…]}; this worker offers {"properties":[…]}`.
 */
export function checkPlatform(instanceName: string, requested: PlatformProperties, offered: Record<string, string>): void {
  for (let i = 1; i < requested.length; i++) {
    const c = compareProps(requested[i - 1]!, requested[i]!);
    if (c > 0) {
      throw new GomaError(Code.InvalidArgument, `Platform properties are not lexicographically sorted, as property ` +
        `${JSON.stringify(requested[i])} should have been placed before property ${JSON.stringify(requested[i - 1])}`);
    }
    if (c === 0) throw new GomaError(Code.InvalidArgument, `Platform properties contain a duplicate: ${JSON.stringify(requested[i])}`);
  }
  const want = offeredPlatform(offered);
  if (requested.length === want.length && requested.every((p, i) => compareProps(p, want[i]!) === 0)) return;
  throw new GomaError(Code.FailedPrecondition,
    `No workers exist for instance name "${instanceName}" platform ${JSON.stringify({ properties: requested })}; ` +
    `this worker offers ${JSON.stringify({ properties: want })}`);
}
