import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";

/*
 * sha256 of a stream on a worker thread. A pull's thread decrypts, parses and uploads; hashing a
 * gigabyte costs it another 0.7 s of CPU (OpenSSL with SHA-NI), so a pull's bytes go through a
 * ring of shared slots that a worker hashes in order while the puller goes on. The puller copies
 * each chunk into the ring (memcpy, a tenth of the hashing's cost) instead of sharing the chunk,
 * because the chunk goes on to the upload and the ring bounds what is held (SLOTS × SLOT_BYTES).
 * No messages per chunk: the two sides count published and hashed slots in shared integers
 * (Atomics), and only the start and the digest are messages.
 */

const SLOTS = 8;
const SLOT_BYTES = 1 << 20;
/**
 * Control words: slots published, slots hashed, state (0 open, 1 ended, 2 aborted), a change
 * counter the worker sleeps on, whether the puller waits for room; then each slot's length.
 */
const PUBLISHED = 0;
const HASHED = 1;
const STATE = 2;
const CHANGES = 3;
const PULLER_WAITS = 4;
const LENGTHS = 5;
/** The worker looks for new slots this often when it has caught up: cheaper than a wake-up (a futex call) per slot. */
const POLL_MS = 2;
/** Smaller streams hash on the caller's thread: a worker round trip is not worth it. */
export const WORKER_MIN_BYTES = 8 * SLOT_BYTES;

/** Runs on the worker: one stream at a time, then back to waiting for the next start message. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
parentPort.on("message", ({ ring, control }) => {
  const c = new Int32Array(control);
  const r = Buffer.from(ring);
  const hash = createHash("sha256");
  let hashed = 0;
  for (;;) {
    const seen = Atomics.load(c, ${CHANGES});
    if (hashed < Atomics.load(c, ${PUBLISHED})) {
      const slot = hashed % ${SLOTS};
      hash.update(r.subarray(slot * ${SLOT_BYTES}, slot * ${SLOT_BYTES} + c[${LENGTHS} + slot]));
      Atomics.store(c, ${HASHED}, ++hashed);
      if (Atomics.load(c, ${PULLER_WAITS})) Atomics.notify(c, ${HASHED});
      continue;
    }
    const state = Atomics.load(c, ${STATE});
    if (state === 1) return parentPort.postMessage({ digest: hash.digest("hex") });
    if (state === 2) return parentPort.postMessage({ aborted: true });
    Atomics.wait(c, ${CHANGES}, seen, ${POLL_MS});
  }
});
`;

/** Atomics.waitAsync (Node 16+; its type is in TypeScript's es2024 lib, newer than ours). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** Hashing workers not in use, kept for the next stream (unref'd: they never keep the process alive). */
const idle: Worker[] = [];
const IDLE_KEPT = 2;

function takeWorker(): Worker {
  const w = idle.pop() ?? new Worker(WORKER_SOURCE, { eval: true, name: "leadpipe-sha256" });
  w.ref();
  return w;
}

function giveBack(w: Worker): void {
  w.removeAllListeners("message");
  w.removeAllListeners("error");
  w.removeAllListeners("exit");
  w.unref();
  if (idle.length < IDLE_KEPT) idle.push(w);
  else void w.terminate();
}

/** A sha256 fed chunk by chunk; `update` answers a promise only when the caller must wait (the ring is full). */
export interface StreamHash {
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<string>;
  /** Gives up (the stream failed): frees the worker. */
  abort(): void;
}

/**
 * Where a large stream's sha256 runs: on a worker (the pull's thread is busy with the transport,
 * e.g. ssh2's packet handling in JavaScript) or inline (the transport's work is mostly native, e.g.
 * TLS, and the ring's copy and the worker's wake-ups would cost more than they free).
 */
export type HashPlace = "worker" | "inline";

/** A sha256 of a stream: inline when asked or when the stream is small, else on a worker thread (also for an unknown length). */
export function streamHash(expectedBytes: number | undefined, place: HashPlace = "worker"): StreamHash {
  if (place === "inline" || (expectedBytes !== undefined && expectedBytes < WORKER_MIN_BYTES)) return inlineHash();
  return new RingHash();
}

function inlineHash(): StreamHash {
  const hash = createHash("sha256");
  return {
    update(chunk) {
      hash.update(chunk);
      return undefined;
    },
    digest: async () => hash.digest("hex"),
    abort: () => undefined,
  };
}

class RingHash implements StreamHash {
  private readonly ring = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (LENGTHS + SLOTS)));
  private readonly worker = takeWorker();
  private readonly result: Promise<string>;
  private published = 0;
  private fill = 0;
  private done = false;

  constructor() {
    this.result = new Promise<string>((resolve, reject) => {
      this.worker.once("message", (m: { digest?: string; aborted?: boolean }) => {
        giveBack(this.worker);
        if (m.digest) resolve(m.digest);
        else reject(new Error("the hash was aborted"));
      });
      this.worker.once("error", (err) => {
        this.done = true;
        reject(err);
      });
      this.worker.once("exit", (code) => reject(new Error(`the hashing worker exited (${code})`)));
    });
    this.result.catch(() => undefined);
    this.worker.postMessage({ ring: this.ring.buffer, control: this.control.buffer });
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.published - Atomics.load(this.control, HASHED) >= SLOTS) return this.waitThenUpdate(chunk, offset);
      const slot = this.published % SLOTS;
      const n = Math.min(SLOT_BYTES - this.fill, chunk.length - offset);
      this.ring.set(chunk.subarray(offset, offset + n), slot * SLOT_BYTES + this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === SLOT_BYTES) this.publish();
    }
    return undefined;
  }

  private async waitThenUpdate(chunk: Uint8Array, offset: number): Promise<void> {
    for (;;) {
      const hashed = Atomics.load(this.control, HASHED);
      if (this.published - hashed < SLOTS) break;
      if (this.done) throw new Error("the hashing worker stopped");
      Atomics.store(this.control, PULLER_WAITS, 1);
      const w = waitAsync(this.control, HASHED, hashed, 1000);
      if (w.async) await w.value;
      Atomics.store(this.control, PULLER_WAITS, 0);
    }
    await this.update(chunk.subarray(offset));
  }

  private publish(): void {
    const slot = this.published % SLOTS;
    Atomics.store(this.control, LENGTHS + slot, this.fill);
    this.fill = 0;
    Atomics.store(this.control, PUBLISHED, ++this.published);
    Atomics.add(this.control, CHANGES, 1);
  }

  private finish(state: 1 | 2): void {
    if (this.done) return;
    this.done = true;
    Atomics.store(this.control, STATE, state);
    Atomics.add(this.control, CHANGES, 1);
    Atomics.notify(this.control, CHANGES);
  }

  async digest(): Promise<string> {
    if (!this.done) {
      // The slot being filled was free when its first byte went in (update checks), so it can go as it is.
      if (this.fill > 0) this.publish();
      this.finish(1);
    }
    return this.result;
  }

  abort(): void {
    this.finish(2);
  }
}
