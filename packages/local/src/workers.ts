import { Worker } from "node:worker_threads";
import os from "node:os";
import { RetryableError } from "@leadpipe/core";

interface Task {
  id: number;
  modulePath: string;
  event: unknown;
  context: unknown;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/**
 * Runs Lambda handlers on worker threads, one task per worker at a time, as concurrent Lambda
 * invocations would: chunk work spreads over the machine's cores instead of one event loop.
 * A worker that dies fails its task with a RetryableError (the state machine retries it) and
 * is replaced.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers that have not yet said their preloaded modules are loaded (or failed to load). */
  private readonly loading = new Set<Worker>();
  private loaded: Array<() => void> = [];

  /**
   * `preload`: handler modules every worker imports as soon as it starts (and again when it is
   * replaced), so the first chunk does not pay the module load, as a provisioned Lambda would not.
   */
  constructor(
    private readonly size = Math.max(1, os.availableParallelism()),
    private readonly preload: readonly string[] = [],
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  /**
   * Resolves when every worker has its preloaded modules loaded (a module that failed to load
   * counts: its task reports the error). A benchmark waits for this before it measures anything,
   * so that no worker is still compiling modules on a core the measured work needs.
   */
  ready(): Promise<void> {
    if (this.loading.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.loaded.push(resolve));
  }

  private settle(w: Worker): void {
    if (!this.loading.delete(w) || this.loading.size > 0) return;
    for (const resolve of this.loaded.splice(0)) resolve();
  }

  run(modulePath: string, event: unknown, context: unknown = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, modulePath, event, context, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./worker-entry.js", import.meta.url));
    if (this.preload.length > 0) {
      this.loading.add(w);
      w.postMessage({ preload: this.preload });
    }
    w.on(
      "message",
      (
        msg:
          | { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string; stack?: string } }
          | { preloaded: true },
      ) => {
        if ("preloaded" in msg) return this.settle(w);
        const task = this.busy.get(w);
        if (!task || task.id !== msg.id) return;
        this.busy.delete(w);
        this.idle.push(w);
        if (msg.ok) task.resolve(msg.result);
        else {
          const err = new Error(msg.error!.message);
          err.name = msg.error!.name;
          err.stack = msg.error!.stack;
          task.reject(err);
        }
        this.pump();
      },
    );
    const onDeath = (why: string) => {
      this.settle(w);
      const task = this.busy.get(w);
      this.busy.delete(w);
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      if (task) task.reject(new RetryableError(`worker running ${task.modulePath} died: ${why}`));
      if (!this.closed) {
        this.idle.push(this.spawn());
        this.pump();
      }
    };
    w.on("error", (err) => onDeath(err.message));
    w.on("exit", (code) => {
      if (!this.closed) onDeath(`exit code ${code}`);
    });
    return w;
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.busy.set(w, task);
      w.postMessage({ id: task.id, modulePath: task.modulePath, event: task.event, context: task.context });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.loading.clear();
    for (const resolve of this.loaded.splice(0)) resolve();
    const all = [...this.idle, ...this.busy.keys()];
    await Promise.all(all.map((w) => w.terminate()));
  }
}
