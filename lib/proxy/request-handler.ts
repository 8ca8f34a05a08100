/**
 * What the proxy does with each well-formed IPC request (lib/proxy/ipc-server.ts): a compile goes to the
 * task (lib/proxy/task.ts), a control request to lib/proxy/control.ts, goma cc's report of a local run
 * to the task log. Returns the answer frame; the IPC server writes it.
 */
import { encodeFrame, type CcRequest } from "../ipc/protocol.ts";
import { controlAnswer, type ControlState } from "./control.ts";
import type { IpcHandler, IpcRequest } from "./ipc-server.ts";
import type { TaskAnswer } from "./task.ts";

/** What {@link createRequestHandler} dispatches to. */
export interface RequestHandlerParts {
  control: ControlState;
  /** Runs one compile: lib/proxy/task.ts `runTask` with the proxy's TaskContext. Never rejects. */
  compile(req: CcRequest): Promise<TaskAnswer>;
  /** Called after the answer to `quit` has been handed to the IPC server (the proxy stops). */
  onQuit(): void;
}

/**
 * The proxy's {@link IpcHandler}. A compile request of an unknown version is answered `local`; before a
 * compile, an unhealthy server is pinged again (so the dashboard's health recovers with the next compile).
 */
export function createRequestHandler(p: RequestHandlerParts): IpcHandler {
  const { control } = p;
  return async (h: IpcRequest) => {
    if ("report" in h) {
      // goma cc's fire-and-forget report of a local run: counted, nothing answered.
      if (h.report && typeof h.report === "object") control.tasks.report(h.report);
      return undefined;
    }
    if ("control" in h) {
      const answer = encodeFrame(await controlAnswer(h.control, control));
      if (h.control === "quit") setImmediate(p.onQuit);
      return answer;
    }
    if (h.v !== 1 || !Array.isArray(h.argv) || typeof h.cwd !== "string") {
      return encodeFrame({ kind: "local", reason: "unknown request version" });
    }
    if (control.health.status !== "ok") void control.health.ping();
    const ans = await p.compile(h);
    return ans.header.kind === "done" ? encodeFrame(ans.header, ans.stdout!, ans.stderr!) : encodeFrame(ans.header);
  };
}
