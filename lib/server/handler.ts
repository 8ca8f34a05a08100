/**
 * Goma's HTTP protocol as a web-standard handler (reference/goma-protocol.md §1, §2.4, §7):
 * `POST /cxx-compiler-service/{ping,e,s,l,sl}` (ping also as GET), plus `/healthz` and a status page at
 * `/`. Bodies may be identity, gzip or raw deflate in both directions; responses carry
 * `Accept-Encoding: gzip, deflate` so the client keeps compressing.
 *
 * Bad input never takes the server down: an oversized body (compressed or decoded) or response gets 413,
 * an undecodable request or one over a per-request limit (lib/server/limits.ts) 400 with a one-line
 * message, an infrastructure failure the HTTP status of its gRPC code (5xx: the client retries).
 */
import { goma } from "../goma/proto.ts";
import { decodeBody, encodeBody, pickEncoding } from "../goma/compression.ts";
import { httpStatusFromCode } from "../goma/http-status.ts";
import { validateBlob } from "../goma/file-blob.ts";
import { encodeRawFields, rawFields } from "../goma/wire.ts";
import { sha256Hex } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";
import type { ExecAdapter } from "./exec.ts";
import type { FileStore } from "./file-store.ts";
import { blobSizeProblem, MAX_LOOKUP_KEYS, MAX_LOOKUP_RESPONSE_BYTES, MAX_STORE_BLOBS, RequestTooLarge } from "./limits.ts";

/** URL prefix of the Goma API (fixed server side, as remoteexec_proxy). */
export const PREFIX = "/cxx-compiler-service";
const PB = "binary/x-protocol-buffer";

/** Options of {@link createGomaHandler}. */
export interface GomaHandlerOptions {
  exec: ExecAdapter;
  files: FileStore;
  /** Largest accepted request body, compressed or decoded (default 64 MiB). Larger → 413. */
  maxRequestBytes?: number;
  /** Extra lines for the status page (backend address, instance name, platform …). */
  describe?: () => Record<string, string>;
}

/** Builds the handler. Safe for concurrent requests. */
export function createGomaHandler(opts: GomaHandlerOptions): (req: Request) => Promise<Response> {
  const max = opts.maxRequestBytes ?? 64 * 1024 * 1024;
  const counters = { requests: 0, errors: 0, badRequests: 0, tooLarge: 0 };

  const reply = (req: Request, body: Uint8Array, status = 200): Response => {
    const enc = pickEncoding(req.headers.get("accept-encoding"));
    const data = body.byteLength ? encodeBody(body, enc, 1) : body;
    const headers: Record<string, string> = { "content-type": PB, "accept-encoding": "gzip, deflate" };
    if (body.byteLength) headers["content-encoding"] = enc;
    return new Response(data as unknown as BodyInit, { status, headers });
  };
  const text = (status: number, msg: string) =>
    new Response(msg.endsWith("\n") ? msg : msg + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8", "accept-encoding": "gzip, deflate" } });

  const readBody = async (req: Request): Promise<Uint8Array> => {
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > max) throw new RequestTooLarge(`request body of ${declared} bytes exceeds the limit of ${max} bytes`);
    const raw = new Uint8Array(await req.arrayBuffer());
    if (raw.byteLength > max) throw new RequestTooLarge(`request body of ${raw.byteLength} bytes exceeds the limit of ${max} bytes`);
    try {
      return decodeBody(raw, req.headers.get("content-encoding"), max);
    } catch (e) {
      const err = GomaError.from(e);
      // A body that inflates past the limit is too large, like one that arrives too large.
      if (err.code === Code.ResourceExhausted) throw new RequestTooLarge(err.rawMessage);
      throw err;
    }
  };
  const decode = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new GomaError(Code.InvalidArgument, `bad request: cannot parse ${what}: ${(e as Error).message}`);
    }
  };

  const routes: Record<string, (req: Request) => Promise<Response>> = {
    "/ping": async (req) => text(200, "ok"),
    "/e": async (req) => {
      const body = await readBody(req);
      const execReq = decode("ExecReq", () => goma.ExecReq.decode(body));
      const resp = await opts.exec.exec(execReq);
      return reply(req, goma.ExecResp.encode(resp).finish());
    },
    "/s": async (req) => {
      const body = await readBody(req);
      const payloads = decode("StoreFileReq", () => {
        goma.StoreFileReq.decode(body); // full validation, including required fields
        return rawFields(body, 1);
      });
      if (payloads.length > MAX_STORE_BLOBS) {
        throw new GomaError(Code.InvalidArgument, `bad request: StoreFileReq has ${payloads.length} blobs, at most ${MAX_STORE_BLOBS} per request`);
      }
      const keys: string[] = [];
      for (const p of payloads) {
        const blob = goma.FileBlob.decode(p);
        const problem = validateBlob(blob) || blobSizeProblem(blob);
        if (problem) {
          if (payloads.length === 1) throw new GomaError(Code.InvalidArgument, `bad request: invalid FileBlob: ${problem}`);
          keys.push("");
          continue;
        }
        const key = sha256Hex(p);
        opts.files.put(key, p.slice());
        keys.push(key);
      }
      return reply(req, goma.StoreFileResp.encode({ hashKey: keys }).finish());
    },
    "/l": async (req) => {
      const body = await readBody(req);
      const lookup = decode("LookupFileReq", () => goma.LookupFileReq.decode(body));
      const wanted = lookup.hashKey ?? [];
      if (wanted.length > MAX_LOOKUP_KEYS) {
        throw new GomaError(Code.InvalidArgument, `bad request: LookupFileReq has ${wanted.length} hash keys, at most ${MAX_LOOKUP_KEYS} per request`);
      }
      const unknown = goma.FileBlob.encode({ blobType: goma.FileBlob.BlobType.FILE_UNSPECIFIED }).finish();
      const blobs = wanted.map((k) => opts.files.getBytes(k) ?? unknown);
      // Sizes are known before anything is copied: the response is refused, never built, past the limit.
      const bytes = blobs.reduce((n, b) => n + b.byteLength + 6, 0);
      if (bytes > MAX_LOOKUP_RESPONSE_BYTES) {
        throw new RequestTooLarge(`LookupFileReq for ${wanted.length} hash keys asks for ${bytes} bytes, over the limit of ` +
          `${MAX_LOOKUP_RESPONSE_BYTES} bytes per response: ask for fewer keys per request`);
      }
      return reply(req, encodeRawFields(2, blobs));
    },
    "/sl": async (req) => {
      await readBody(req);
      return reply(req, new Uint8Array());
    },
  };

  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    counters.requests++;
    try {
      if (url.pathname === "/healthz") return text(200, "ok");
      if (url.pathname === "/" && req.method === "GET") return statusPage(opts, counters);
      if (!url.pathname.startsWith(PREFIX + "/")) return text(404, `not found: ${url.pathname}`);
      const route = routes[url.pathname.slice(PREFIX.length)];
      if (!route) return text(404, `not found: ${url.pathname}`);
      if (req.method !== "POST" && !(req.method === "GET" && url.pathname.endsWith("/ping"))) {
        return text(405, `method ${req.method} not allowed on ${url.pathname}`);
      }
      return await route(req);
    } catch (e) {
      const err = GomaError.from(e, Code.Internal);
      if (err instanceof RequestTooLarge) {
        counters.tooLarge++;
        log.warn(`${url.pathname}: 413 ${err.rawMessage}`);
        return text(413, err.rawMessage);
      }
      if (err.code === Code.InvalidArgument) counters.badRequests++;
      else counters.errors++;
      log.warn(`${url.pathname}: ${err.message}`);
      return text(httpStatusFromCode(err.code), err.rawMessage);
    }
  };
}

function statusPage(opts: GomaHandlerOptions, counters: Record<string, number>): Response {
  const rows = {
    ...opts.describe?.(),
    ...Object.fromEntries(Object.entries(counters).map(([k, v]) => [`http.${k}`, String(v)])),
    ...Object.fromEntries(Object.entries(opts.exec.stats).map(([k, v]) => [`exec.${k}`, String(v)])),
    ...Object.fromEntries(Object.entries(opts.files.stats()).map(([k, v]) => [`files.${k}`, String(v)])),
  };
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = `<!doctype html><meta charset="utf-8"><title>goma server</title><h1>goma server</h1><table>` +
    Object.entries(rows).map(([k, v]) => `<tr><th align=left>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") + `</table>`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}
