import { parentPort } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { withDeadline } from "./deadline";

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
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
  },
);
