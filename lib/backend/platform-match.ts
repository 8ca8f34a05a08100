/**
 * Platform matching for the embedded "worker": the action's platform is read from `Action.platform`
 * (falling back to the deprecated `Command.platform` only when the Action has none), and every property
 * sent must be offered with exactly that value (Buildbarn matches platforms exactly; case matters:
 * `OSFamily=Linux` does not match `linux`). A mismatch fails Execute with FAILED_PRECONDITION in
 * Buildbarn's words, plus what this worker offers.
 *
 * Spec: REAPI Action.platform (v2.2+) / Command.platform (deprecated), platform.md;
 * reference/reapi-buildbarn.md §3, §4.5.
 */
import { build } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import R = build.bazel.remote.execution.v2;

/** A platform as a list of name/value pairs, in REAPI order (sorted by name, then value). */
export type PlatformProperties = { name: string; value: string }[];

/**
 * The platform properties an action asks for: `Action.platform`, else `Command.platform`.
 * @example requestedPlatform({ platform: { properties: [{ name: "OSFamily", value: "linux" }] } }, {})
 */
export function requestedPlatform(action: R.IAction, command: R.ICommand): PlatformProperties {
  const props = action.platform?.properties?.length ? action.platform.properties : command.platform?.properties ?? [];
  return props.map((p) => ({ name: p.name ?? "", value: p.value ?? "" }));
}

/** `{ OSFamily: "linux" }` as sorted REAPI properties. */
export function offeredPlatform(offered: Record<string, string>): PlatformProperties {
  return Object.entries(offered)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name === b.name ? (a.value < b.value ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/**
 * Checks that every requested property is offered with exactly the same value.
 * @throws {GomaError} FailedPrecondition `No workers exist for instance name "<name>" platform
 * {"properties":[…]}; this worker offers {"properties":[…]}`.
 */
export function checkPlatform(instanceName: string, requested: PlatformProperties, offered: Record<string, string>): void {
  const ok = requested.every((p) => Object.hasOwn(offered, p.name) && offered[p.name] === p.value);
  if (ok) return;
  throw new GomaError(Code.FailedPrecondition,
    `No workers exist for instance name "${instanceName}" platform ${JSON.stringify({ properties: requested })}; ` +
    `this worker offers ${JSON.stringify({ properties: offeredPlatform(offered) })}`);
}
