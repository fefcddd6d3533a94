import { parentPort } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { withDeadline } from "./deadline";

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/**
 * A worker that ends a task with more than this on its heap collects it before it waits for the next: V8 collects
 * only as a thread allocates, so an idle worker kept what its last task left (the people consumer's last batch: its
 * candidates, hundreds of MB) while the other worked, both in this process's memory. A Lambda's next invocation does
 * not inherit another's garbage either.
 */
export const IDLE_HEAP_BYTES = 128 * 2 ** 20;
v8.setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
/** The heap past which the next task's end collects: twice what the last collection kept, at least IDLE_HEAP_BYTES (a
 * worker whose live heap stays big does not collect after every task). */
let collectAbove = IDLE_HEAP_BYTES;
const handlers = new Map<string, Promise<Handler>>();

function load(modulePath: string): Promise<Handler> {
  let h = handlers.get(modulePath);
  if (!h) {
    h = import(pathToFileURL(modulePath).href).then((m: { handler: Handler }) => m.handler);
    handlers.set(modulePath, h);
  }
  return h;
}

parentPort!.on(
  "message",
  async (msg: { id: number; modulePath: string; event: unknown; context: unknown } | { preload: string[] }) => {
    if ("preload" in msg) {
      // Warm-up only: a module that fails to load fails again, with its error, on its first task.
      void Promise.allSettled(
        msg.preload.map((m) =>
          load(m).catch((err) => {
            handlers.delete(m);
            throw err;
          }),
        ),
      ).then(() => parentPort!.postMessage({ preloaded: true }));
      return;
    }
    try {
      const handler = await load(msg.modulePath);
      const result = await handler(msg.event, withDeadline(msg.context as object));
      parentPort!.postMessage({ id: msg.id, ok: true, result });
    } catch (err) {
      const e = err as Error;
      parentPort!.postMessage({ id: msg.id, ok: false, error: { name: e.name, message: e.message, stack: e.stack } });
    }
    if (process.memoryUsage().heapUsed > collectAbove) {
      collect();
      collectAbove = Math.max(IDLE_HEAP_BYTES, 2 * process.memoryUsage().heapUsed);
    }
  },
);
