/**
 * `goma auth login|logout|info|token|issue|new-secret`: credentials for a self-hosted `goma server`
 * without Google (issue #5). Clients store a token (`login`), see which one is used and whether the
 * server accepts it (`info`); admins make a signing secret (`new-secret`) and issue tokens (`issue`).
 */
import { defineCommand } from "citty";
import { chmodSync, existsSync, openSync, closeSync, readFileSync, writeSync } from "node:fs";
import { AUTH_LOOKUP_ORDER, localTokenFor } from "./client-auth.ts";
import { issueSignedToken, newSecret, parseDuration, parseSecretFile } from "./signed-token.ts";
import { normalizeToken, readStoredToken, removeStoredToken, storedTokenPath, storeToken } from "./token-store.ts";
import { whoAmI, type WhoAmI } from "./whoami.ts";
import { UsageError } from "../util/cli-args.ts";

const out = (s: string) => process.stdout.write(s + "\n");
const err = (s: string) => process.stderr.write(s + "\n");

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let buf = "";
    stdin.setRawMode?.(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") { // Ctrl-C
          cleanup();
          process.stderr.write("\n");
          return reject(new Error("cancelled"));
        }
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const cleanup = () => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
    };
    const done = () => {
      cleanup();
      process.stderr.write("\n");
      resolve(buf);
    };
    stdin.on("data", onData);
  });
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** One line per lookup step, marking the one used. */
function describeLookup(w: WhoAmI): string[] {
  const lines = ["lookup order:"];
  const env = process.env;
  lines.push(`  1. GOMA_HTTP_AUTHORIZATION_FILE: ${env.GOMA_HTTP_AUTHORIZATION_FILE ? `"${env.GOMA_HTTP_AUTHORIZATION_FILE}"${w.auth.path && w.auth.path !== env.GOMA_HTTP_AUTHORIZATION_FILE ? ` (${w.auth.path})` : ""}` : "not set"}` +
    (w.auth.source === "GOMA_HTTP_AUTHORIZATION_FILE" ? "  ← used" : ""));
  const stored = storedTokenPath(env);
  let storedState = "absent";
  try {
    storedState = readStoredToken(env) ? "present" : "absent";
  } catch (e) {
    storedState = `unreadable (${(e as NodeJS.ErrnoException).code})`;
  }
  lines.push(`  2. ${AUTH_LOOKUP_ORDER[1]}: ${stored} (${storedState})` + (w.auth.source === "stored token" ? "  ← used" : ""));
  const local = localTokenFor(env);
  lines.push(`  3. ${AUTH_LOOKUP_ORDER[2]}: ${local ? `${local} (${existsSync(local) ? "present" : "absent"})` : "not used: the server is not on loopback"}` +
    (w.auth.source === "local token" ? "  ← used" : ""));
  if (w.auth.source === "none") lines.push("  → no credentials: requests carry no Authorization header");
  return lines;
}

/** Prints the server's verdict; returns the exit code. */
function printVerdict(w: WhoAmI): number {
  if (w.status === 200) {
    if (w.user === null) {
      out(`server ${w.url}: auth is disabled on this server (any request is accepted)`);
    } else {
      out(`server ${w.url}: you are "${w.user}" (${w.tokenSource}${w.expiresAt ? `, expires ${w.expiresAt}` : ", no expiry"})`);
    }
    return 0;
  }
  if (w.status === 401) {
    err(`server ${w.url} refuses the credentials: ${w.error?.replace(/^auth failed: /, "")}`);
    return 1;
  }
  if (w.status === 404) {
    err(`server ${w.url} answered 404: it is not a goma server with auth/info (Goma's Go server has no such endpoint)`);
    return 1;
  }
  err(`cannot ask ${w.url}: ${w.status ? `HTTP ${w.status}: ` : ""}${w.error}`);
  return 1;
}

const loginCommand = defineCommand({
  meta: { name: "login", description: "Store a token for the proxy in ~/.config/goma/token (0600; $XDG_CONFIG_HOME honoured)" },
  args: {
    "token-file": { type: "string", description: "Read the token from this file instead of prompting ('-': stdin)" },
    "no-check": { type: "boolean", default: false, description: "Do not ask the server whether it accepts the token" },
  },
  async run({ args }) {
    let text: string;
    const tf = args["token-file"] ? String(args["token-file"]) : undefined;
    try {
      if (tf && tf !== "-") text = readFileSync(tf, "utf8");
      else if (!tf && process.stdin.isTTY) text = await promptHidden("goma token (input hidden): ");
      else text = await readAllStdin();
    } catch (e) {
      err(`goma auth login: cannot read the token${tf ? ` from "${tf}"` : ""}: ${(e as Error).message}`);
      process.exit(1);
    }
    let path: string;
    try {
      normalizeToken(text);
      path = storeToken(process.env, text);
    } catch (e) {
      err(`goma auth login: ${(e as Error).message}`);
      process.exit(1);
    }
    out(`stored the token in ${path} (mode 0600)`);
    if (process.env.GOMA_HTTP_AUTHORIZATION_FILE) {
      err(`note: GOMA_HTTP_AUTHORIZATION_FILE is set, so it is used before the stored token (unset it to use this one)`);
    }
    if (args["no-check"]) return;
    const w = await whoAmI(process.env, 5_000);
    if (w.status === 0) {
      err(`could not check it with the server (${w.error}); run "goma auth info" once the server is up`);
      return;
    }
    process.exitCode = printVerdict(w);
  },
});

const logoutCommand = defineCommand({
  meta: { name: "logout", description: "Remove the stored token" },
  run() {
    const path = storedTokenPath(process.env);
    out(removeStoredToken(process.env) ? `removed ${path}` : `no stored token (${path})`);
  },
});

const tokenCommand = defineCommand({
  meta: { name: "token", description: "Print the stored token" },
  run() {
    try {
      const t = readStoredToken(process.env);
      if (!t) {
        err(`goma auth token: no stored token (${storedTokenPath(process.env)}); run "goma auth login"`);
        process.exit(1);
      }
      out(t);
    } catch (e) {
      err(`goma auth token: cannot read ${storedTokenPath(process.env)}: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});

const infoCommand = defineCommand({
  meta: { name: "info", description: "Show which credentials are used and who the server thinks you are" },
  args: { json: { type: "boolean", default: false, description: "Print JSON" } },
  async run({ args }) {
    const w = await whoAmI(process.env);
    if (args.json) {
      out(JSON.stringify({ url: w.url, source: w.auth.source, path: w.auth.path ?? null, authError: w.auth.error ?? null,
        status: w.status, user: w.user ?? null, tokenSource: w.tokenSource ?? null, expiresAt: w.expiresAt ?? null, error: w.error ?? null }));
      process.exitCode = w.status === 200 ? 0 : 1;
      return;
    }
    for (const l of describeLookup(w)) out(l);
    if (w.auth.error) {
      err(`error: ${w.auth.error}`);
      process.exitCode = 1;
      return;
    }
    if (w.auth.header && !/^Bearer /.test(w.auth.header)) {
      err(`warning: the Authorization value does not start with "Bearer "; goma server (and Goma's) will refuse it`);
    }
    process.exitCode = printVerdict(w);
  },
});

const issueCommand = defineCommand({
  meta: { name: "issue", description: "Print a token signed with the server's --auth-secret (format goma1.<payload>.<signature>)" },
  args: {
    user: { type: "string", required: true, description: "User the token names" },
    secret: { type: "string", required: true, description: "The secret file the server reads with --auth-secret" },
    expires: { type: "string", description: "Lifetime, e.g. 30d, 12h, 90m (default: never expires)" },
  },
  run({ args }) {
    let ttlSec: number | undefined;
    try {
      ttlSec = args.expires ? parseDuration(String(args.expires)) : undefined;
    } catch (e) {
      throw new UsageError(`--expires: ${(e as Error).message}`);
    }
    try {
      const secrets = parseSecretFile(readFileSync(String(args.secret), "utf8"));
      out(issueSignedToken(secrets[0]!, String(args.user), { ttlSec }));
    } catch (e) {
      err(`goma auth issue: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});

const newSecretCommand = defineCommand({
  meta: { name: "new-secret", description: "Write a new random signing secret to FILE (for goma server --auth-secret)" },
  args: {
    file: { type: "positional", required: false, description: "File to create (mode 0600)" },
    out: { type: "string", description: "The same as FILE" },
    force: { type: "boolean", default: false, description: "Overwrite an existing file (invalidates every token it signed)" },
  },
  run({ args }) {
    const extra = ((args as { _?: string[] })._ ?? []).slice(1);
    if (extra.length > 0) {
      err(`goma auth new-secret: one FILE only (unexpected ${extra.map((a) => `"${a}"`).join(" ")}); see goma auth new-secret --help`);
      process.exit(2);
    }
    const s = newSecret();
    const file = args.file ? String(args.file) : args.out ? String(args.out) : undefined;
    if (args.file && args.out && String(args.file) !== String(args.out)) {
      err(`goma auth new-secret: give the file once (FILE "${args.file}" and --out "${args.out}" differ)`);
      process.exit(2);
    }
    if (file === undefined) {
      // A secret is printed only into a pipe or a file, never onto a terminal where it would stay in view.
      if (process.stdout.isTTY) {
        err("goma auth new-secret: name the FILE to write (mode 0600), or redirect stdout; a secret is not printed to a terminal");
        process.exit(2);
      }
      return out(s);
    }
    const path = file;
    if (existsSync(path) && !args.force) {
      err(`goma auth new-secret: "${path}" exists; give --force to replace it (tokens signed with it stop working)`);
      process.exit(1);
    }
    const fd = openSync(path, args.force ? "w" : "wx", 0o600);
    writeSync(fd, `# goma server --auth-secret; signs with the first line, accepts every line\n${s}\n`);
    closeSync(fd);
    chmodSync(path, 0o600);
    out(`wrote a new secret to ${path}`);
  },
});

/** `goma auth`. */
export const authCommand = defineCommand({
  meta: { name: "auth", description: "Credentials for goma server without Google: login, logout, info, token, issue, new-secret" },
  subCommands: {
    login: loginCommand,
    logout: logoutCommand,
    info: infoCommand,
    token: tokenCommand,
    issue: issueCommand,
    "new-secret": newSecretCommand,
  },
});
