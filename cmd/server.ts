/** `goma server`: Goma's HTTP protocol in front of a REAPI backend (Goma's remoteexec_proxy). */
import { serverCommand } from "../lib/server/cli.ts";
import { SERVER_VARS, varsHelp } from "../lib/config/goma-env.ts";

/** `goma server --help` ends with the variables it reads besides its flags, and their defaults. */
export default Object.assign(serverCommand, { helpEpilog: `ENVIRONMENT (a flag, when given, wins)\n\n${varsHelp(SERVER_VARS)}` });
