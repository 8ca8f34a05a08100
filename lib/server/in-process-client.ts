/**
 * A Goma HTTP client that calls a server's handler in the same process instead of over the network:
 * the proxy's {@link GomaHttpClient} (its `/e`, `/s`, `/l` encoding and decoding unchanged) with only
 * the transport replaced, like connect-es's router transport (reference/style.md §4). It lets unit tests
 * run the proxy's compile task against a real `createGomaHandler` → ExecAdapter → REAPI chain (e.g. over
 * fake-reapi.ts) with no socket. The seam is `GomaHttpClient.call(endpoint, body)`, the one method that
 * does I/O; everything above it is the production code.
 *
 * Spec: reference/goma-protocol.md §1 (POST {prefix}/{endpoint}, binary/x-protocol-buffer bodies).
 */
import { decodeBody } from "../goma/compression.ts";
import { GomaHttpClient } from "../goma/http-client.ts";
import { codeFromHttpStatus } from "../goma/http-status.ts";
import { GomaError } from "../util/status.ts";
import { PREFIX } from "./handler.ts";

/** A `(Request) => Promise<Response>` Goma handler, as createGomaHandler builds it. */
export type GomaHandler = (req: Request) => Promise<Response>;

/** Largest response body accepted, bytes (as the HTTP client would read any). */
const MAX_RESPONSE_BYTES = 1 << 30;

/** A {@link GomaHttpClient} whose requests go straight to `handler`. */
export class InProcessGomaClient extends GomaHttpClient {
  readonly #handler: GomaHandler;

  constructor(handler: GomaHandler) {
    super({ host: "in-process", port: 1, useSsl: false, pathPrefix: PREFIX, extraParams: "", compressionLevel: 0 });
    this.#handler = handler;
  }

  /**
   * POSTs `body` to `handler` at `endpoint` ("/e", "/s", "/l", "/ping") and returns the response body.
   * @throws {GomaError} the code of a non-200 status (reference/goma-protocol.md §1.4), as the HTTP
   * client does.
   */
  override async call(endpoint: string, body: Uint8Array): Promise<Uint8Array> {
    this.stats.requests++;
    this.stats.bytesSent += body.byteLength;
    const res = await this.#handler(new Request(`http://in-process${PREFIX}${endpoint}`, {
      method: "POST", body: body as unknown as BodyInit, headers: { "content-type": "binary/x-protocol-buffer" },
    }));
    const raw = decodeBody(new Uint8Array(await res.arrayBuffer()), res.headers.get("content-encoding"), MAX_RESPONSE_BYTES);
    this.stats.bytesReceived += raw.byteLength;
    if (res.status !== 200) {
      this.stats.errors++;
      const text = new TextDecoder().decode(raw.subarray(0, 2000)).trim();
      throw new GomaError(codeFromHttpStatus(res.status), `goma server answered HTTP ${res.status} on ${endpoint}: ${text}`);
    }
    return raw;
  }
}
