import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { MatchProfile } from "./match";
import type { ContactInput } from "./record";

/*
 * Standardizing a contact costs about as much as matching it, and matching is one thread (its
 * blocks are one structure). On a machine with a second core, `standardizedProfiles` standardizes
 * on a worker thread while the caller matches what the worker already sent: two cores for one
 * stream, in the input's order, so the results are the ones of a single thread. The worker sends
 * each batch as one JSON text of rows (JSON.parse is the cheapest way into this heap), and the
 * values that repeat (names, dates, ZIPs, streets) are interned on arrival, as profileOf does.
 */

/** A profile as a row of plain values (the worker's side). */
export function profileRow(p: MatchProfile): unknown[] {
  return [p.first, p.formal, p.formals, p.last, p.lastParts, p.lastSound, p.email, p.emailLocal, p.emailDomain, p.phone, p.phone7,
    p.dob, p.zip5, p.city, p.house, p.street, p.ids];
}

type Row = [string | null, string | null, string[], string | null, string[], string | null, string | null, string | null, string | null,
  string | null, string | null, string | null, string | null, string | null, string | null, string | null, string[]];

const INTERN_LIMIT = 500_000;
const NONE: string[] = [];

/** Profiles back from rows, sharing the strings and lists that repeat. */
class ProfileDecoder {
  private readonly values = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();

  profile(r: Row): MatchProfile {
    return {
      first: this.value(r[0]), formal: this.value(r[1]), formals: this.list(r[2]), last: this.value(r[3]), lastParts: this.list(r[4]),
      lastSound: this.value(r[5]), email: r[6], emailLocal: r[7], emailDomain: this.value(r[8]), phone: r[9], phone7: r[10],
      dob: this.value(r[11]), zip5: this.value(r[12]), city: this.value(r[13]), house: this.value(r[14]), street: this.value(r[15]),
      ids: r[16].length === 0 ? NONE : r[16],
    };
  }

  private value(s: string | null): string | null {
    if (s === null) return null;
    const v = this.values.get(s);
    if (v !== undefined) return v;
    if (this.values.size >= INTERN_LIMIT) this.values.clear();
    this.values.set(s, s);
    return s;
  }

  private list(a: string[]): string[] {
    if (a.length === 0) return NONE;
    const key = a.length === 1 ? a[0]! : a.join("\u0000");
    const l = this.lists.get(key);
    if (l !== undefined) return l;
    if (this.lists.size >= INTERN_LIMIT) this.lists.clear();
    this.lists.set(key, a);
    return a;
  }
}

/** The worker module beside this one (.ts when run from sources, .js when built). */
const workerUrl = () => new URL(`./profile-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startWorker(): Worker {
  const url = workerUrl();
  // Run from TypeScript sources (tsx), a worker needs the same loader registered before it imports the module.
  if (url.pathname.endsWith(".ts")) {
    return new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true });
  }
  return new Worker(url);
}

export interface ParallelOptions {
  /** Contacts per message to the worker; default 1,000. */
  batch?: number;
  /** Batches in flight at once (the worker runs ahead of the caller by this much); default 4. */
  ahead?: number;
  /** The day dates of birth are checked against (standardizeContact's `today`). */
  today?: Date;
}

/**
 * The match profiles of `inputs`, in order, in batches, standardized (standardizeContact +
 * profileOf) on a worker thread. Ends the worker when the stream ends or the caller stops early.
 */
export async function* standardizedProfiles(inputs: Iterable<ContactInput>, options: ParallelOptions = {}): AsyncGenerator<MatchProfile[]> {
  const size = options.batch ?? 1000, ahead = options.ahead ?? 4;
  const worker = startWorker();
  const decoder = new ProfileDecoder();
  const waiting = new Map<number, { resolve: (json: string) => void; reject: (e: unknown) => void }>();
  let failure: unknown = null;
  worker.on("message", (m: { id: number; json?: string; error?: string }) => {
    const w = waiting.get(m.id)!;
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(`standardizing on a worker: ${m.error}`));
    else w.resolve(m.json!);
  });
  const fail = (e: unknown) => {
    failure ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => { if (waiting.size > 0) fail(new Error(`the standardizing worker exited (code ${code}) with batches outstanding`)); });

  const today = options.today?.getTime();
  let next = 0;
  const send = (batch: ContactInput[]) => {
    if (failure) return Promise.reject(failure);
    const id = next++;
    const reply = new Promise<string>((resolve, reject) => waiting.set(id, { resolve, reject }));
    worker.postMessage({ id, inputs: batch, today });
    return reply;
  };
  const pending: Promise<string>[] = [];
  const it = inputs[Symbol.iterator]();
  let done = false;
  const fill = () => {
    while (!done && pending.length < ahead) {
      const batch: ContactInput[] = [];
      for (let r = it.next(); ; r = it.next()) {
        if (r.done) { done = true; break; }
        batch.push(r.value);
        if (batch.length === size) break;
      }
      if (batch.length > 0) pending.push(send(batch));
    }
  };
  try {
    fill();
    while (pending.length > 0) {
      const json = await pending.shift()!;
      fill();
      yield (JSON.parse(json) as Row[]).map((r) => decoder.profile(r));
    }
  } finally {
    await worker.terminate();
  }
}
