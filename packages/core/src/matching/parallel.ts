import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { setImmediate } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { blockKeyHashes, profileOf, type MatchProfile } from "../people/match";
import { standardizeContact, type ContactInput, type FieldProblem } from "../people/record";

/*
 * Standardizing a contact costs about as much as matching it, and matching is one thread (its
 * blocks are one structure). On a machine with a second core, `standardizedProfiles` standardizes
 * on a worker thread while the caller matches what the worker already sent: two cores for one
 * stream, in the input's order, so the results are the ones of a single thread.
 *
 * The caller's thread is the busier one, so the worker does the sharing too: the values that
 * repeat (names, dates, ZIPs, cities, house numbers, streets, e-mail domains) and the name lists
 * get ids in tables both sides keep, each value crosses once, and a profile crosses as a row of
 * ids in one transferred Int32Array plus its four values that do not repeat (e-mail, mailbox,
 * phone, last 7 digits). The receiving side then builds a profile from array reads alone, with
 * no text to parse or hash; its profiles share their strings and lists, as profileOf's do.
 * The worker also hashes each profile's blocking keys (blockKeyHashes), which the matching thread
 * then only looks up (Matcher.addKeyed).
 */

/** Profile fields sent as ids into the value table (0 is null) or the list table (0 is the empty list), in row order. */
const REFS = [
  "first",
  "formal",
  "formals",
  "last",
  "lastParts",
  "lastSound",
  "emailDomain",
  "dob",
  "zip5",
  "city",
  "house",
  "street",
  "middle",
  "generation",
] as const;
const REF_WIDTH = REFS.length;
/** Profile fields sent as they are (they rarely repeat), in row order. */
const TEXTS = ["email", "emailLocal", "phone", "phone7"] as const;
const TEXT_WIDTH = TEXTS.length;
const isList = (f: (typeof REFS)[number]): f is "formals" | "lastParts" => f === "formals" || f === "lastParts";

/** One batch of profiles as the worker sends it. */
export interface EncodedBatch {
  /** The tables start over before this batch's additions (the sender's reached its limit). */
  reset: boolean;
  /** Values new to the value table, in id order (the first new one takes the next id). */
  values: string[];
  /** Lists new to the list table, in id order. */
  lists: string[][];
  /** REF_WIDTH ids per profile, in REFS order. */
  refs: Int32Array<ArrayBuffer>;
  /** TEXT_WIDTH values per profile, in TEXTS order. */
  texts: (string | null)[];
  /** [index in the batch, ids] of the profiles that have identifiers. */
  ids: [number, string[]][];
  /** [index in the batch, problems] of the contacts with values that could not be standardized (left out of their profile). */
  problems: [number, FieldProblem[]][];
  /** The profiles' blocking key hashes, as ProfileBatch has them. */
  keys: Int32Array<ArrayBuffer>;
  keyStarts: Int32Array<ArrayBuffer>;
}

/** Profiles with their blocking keys hashed: profile i's are keys[keyStarts[i] … keyStarts[i + 1]) (Matcher.addKeyed). */
export interface ProfileBatch {
  profiles: MatchProfile[];
  /** [index in the batch, problems] of the contacts with values that could not be standardized (standardizeContact's `problems`). */
  problems: [number, FieldProblem[]][];
  keys: Int32Array<ArrayBuffer>;
  keyStarts: Int32Array<ArrayBuffer>;
}

/** A ProfileBatch of `profiles`, their keys hashed here (`problems`: of the contacts they were made from, if any). */
export function keyedBatch(profiles: MatchProfile[], problems: [number, FieldProblem[]][] = []): ProfileBatch {
  const keys: number[] = [];
  const keyStarts = new Int32Array(profiles.length + 1);
  for (let i = 0; i < profiles.length; i++) keyStarts[i + 1] = keyStarts[i]! + blockKeyHashes(profiles[i]!, keys);
  return { profiles, problems, keys: Int32Array.from(keys), keyStarts };
}

/**
 * A batch of contacts standardized: their match profiles (interned unless `share: false`: the
 * worker's encoder shares values itself) and [index, problems] of the contacts that have any.
 */
export function standardizeBatch(
  inputs: readonly ContactInput[],
  today?: Date,
  options: { share?: boolean } = {},
): { profiles: MatchProfile[]; problems: [number, FieldProblem[]][] } {
  const profiles = new Array<MatchProfile>(inputs.length);
  const problems: [number, FieldProblem[]][] = [];
  for (let i = 0; i < inputs.length; i++) {
    const record = standardizeContact(inputs[i]!, today);
    profiles[i] = profileOf(record, options);
    if (record.problems.length > 0) problems.push([i, record.problems]);
  }
  return { profiles, problems };
}

const DEFAULT_TABLE_LIMIT = 500_000;
const NONE: string[] = [];

/** The worker's side: profiles into batches, remembering which values and lists the other side already has. */
export class ProfileEncoder {
  private readonly valueIds = new Map<string, number>();
  private readonly listIds = new Map<string, number>();
  private added: { values: string[]; lists: string[][] } = { values: [], lists: [] };

  /** `limit`: values (or lists) the tables hold before they start over. */
  constructor(private readonly limit = DEFAULT_TABLE_LIMIT) {}

  encode(profiles: readonly MatchProfile[], problems: [number, FieldProblem[]][] = []): EncodedBatch {
    const reset = this.valueIds.size >= this.limit || this.listIds.size >= this.limit;
    if (reset) {
      this.valueIds.clear();
      this.listIds.clear();
    }
    this.added = { values: [], lists: [] };
    const refs = new Int32Array(profiles.length * REF_WIDTH);
    const texts = new Array<string | null>(profiles.length * TEXT_WIDTH);
    const ids: [number, string[]][] = [];
    for (let i = 0; i < profiles.length; i++) {
      const p = profiles[i]!;
      for (let f = 0; f < REF_WIDTH; f++) {
        const field = REFS[f]!;
        refs[i * REF_WIDTH + f] = isList(field) ? this.listId(p[field]) : this.valueId(p[field]);
      }
      for (let f = 0; f < TEXT_WIDTH; f++) texts[i * TEXT_WIDTH + f] = p[TEXTS[f]!];
      if (p.ids.length > 0) ids.push([i, p.ids]);
    }
    const { keys, keyStarts } = keyedBatch(profiles as MatchProfile[]);
    return { reset, values: this.added.values, lists: this.added.lists, refs, texts, ids, problems, keys, keyStarts };
  }

  private valueId(s: string | null): number {
    if (s === null) return 0;
    let id = this.valueIds.get(s);
    if (id === undefined) {
      id = this.valueIds.size + 1;
      this.valueIds.set(s, id);
      this.added.values.push(s);
    }
    return id;
  }

  private listId(a: readonly string[]): number {
    if (a.length === 0) return 0;
    const key = a.length === 1 ? a[0]! : a.join("\u0000");
    let id = this.listIds.get(key);
    if (id === undefined) {
      id = this.listIds.size + 1;
      this.listIds.set(key, id);
      this.added.lists.push(a as string[]);
    }
    return id;
  }
}

/** The caller's side: batches back into profiles, sharing the strings and lists that repeat. */
export class ProfileDecoder {
  private values: (string | null)[] = [null];
  private lists: string[][] = [NONE];

  decode(batch: EncodedBatch): ProfileBatch {
    if (batch.reset) {
      this.values = [null];
      this.lists = [NONE];
    }
    for (const v of batch.values) this.values.push(v);
    for (const l of batch.lists) this.lists.push(l);
    const v = this.values,
      l = this.lists,
      r = batch.refs,
      t = batch.texts;
    const out = new Array<MatchProfile>(r.length / REF_WIDTH);
    for (let i = 0; i < out.length; i++) {
      const o = i * REF_WIDTH,
        x = i * TEXT_WIDTH;
      // Fields in profileOf's order: one object shape for every profile the matcher compares.
      out[i] = {
        first: v[r[o]!]!,
        formal: v[r[o + 1]!]!,
        formals: l[r[o + 2]!]!,
        last: v[r[o + 3]!]!,
        lastParts: l[r[o + 4]!]!,
        lastSound: v[r[o + 5]!]!,
        email: t[x]!,
        emailLocal: t[x + 1]!,
        emailDomain: v[r[o + 6]!]!,
        phone: t[x + 2]!,
        phone7: t[x + 3]!,
        dob: v[r[o + 7]!]!,
        zip5: v[r[o + 8]!]!,
        city: v[r[o + 9]!]!,
        house: v[r[o + 10]!]!,
        street: v[r[o + 11]!]!,
        ids: NONE,
        middle: v[r[o + 12]!]!,
        generation: v[r[o + 13]!]!,
      };
    }
    for (const [i, ids] of batch.ids) out[i]!.ids = ids;
    return { profiles: out, problems: batch.problems, keys: batch.keys, keyStarts: batch.keyStarts };
  }
}

/** The worker module beside this one (.ts when run from sources, .js when built). */
const workerUrl = () => new URL(`./profile-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startWorker(workerData: ProfileWorkerData): Worker {
  const url = workerUrl();
  // Run from TypeScript sources (tsx), a worker needs the same loader registered before it imports the module.
  if (url.pathname.endsWith(".ts")) {
    return new Worker(
      `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
      { eval: true, workerData },
    );
  }
  return new Worker(url, { workerData });
}

/**
 * The worker of one standardizedBatches stream, started ahead of it (`ParallelOptions.worker`): a
 * caller that first loads the population it matches against starts it then, and the worker has
 * loaded (about a fifth of a second built, most of a second under tsx) when the first batch is sent.
 * The stream ends it.
 */
export class ProfileWorker {
  readonly worker: Worker;
  /** The worker has loaded (it said so). */
  started = false;
  /** How many of the warm-up contacts it standardized (all of them, unless one failed: the warm-up stops there). */
  warmed = 0;
  /** Why it failed or exited before the stream listened, if it did. */
  failure: Error | null = null;

  /**
   * `warmUp`: contacts like the ones to come (a sample of the population the caller is loading) that
   * the worker standardizes, for nothing, before it says it has started: its code is then compiled
   * for what it will see. Cold, a worker standardizes its first ten thousand contacts or so at under
   * half its speed.
   */
  constructor(options: { tableLimit?: number; warmUp?: readonly ContactInput[] } = {}) {
    this.worker = startWorker({ tableLimit: options.tableLimit ?? DEFAULT_TABLE_LIMIT, warmUp: options.warmUp ?? [] });
    this.worker.on("message", (m: unknown) => {
      if (isStarted(m)) {
        this.started = true;
        this.warmed = m.warmed;
      }
    });
    this.worker.on("error", (e) => {
      this.failure ??= e;
    });
    this.worker.on("exit", (code) => {
      this.failure ??= new Error(`the standardizing worker exited (code ${code})`);
    });
  }
}

/** The worker's first message: it has loaded, and warmed up on this many contacts. */
export interface StartedMessage {
  started: true;
  warmed: number;
}
const isStarted = (m: unknown): m is StartedMessage => typeof m === "object" && m !== null && "started" in m;

/** What the worker is started with. */
export interface ProfileWorkerData {
  tableLimit: number;
  /** Contacts standardized before the worker says it has started (ProfileWorker's `warmUp`). */
  warmUp: readonly ContactInput[];
}

export interface ParallelOptions {
  /** Contacts per message to the worker; default 1,000. */
  batch?: number;
  /** Batches in flight at once (the worker runs ahead of the caller by this much); default 4. */
  ahead?: number;
  /** The day dates of birth are checked against (standardizeContact's `today`). */
  today?: Date;
  /** Distinct values (or name lists) shared before the tables start over; default 500,000. */
  tableLimit?: number;
  /** Whether this thread standardizes a batch itself rather than wait for the worker; default true (false: every batch goes to the worker). */
  callerHelps?: boolean;
  /** A worker started ahead (its own tableLimit applies); by default one is started now. Either way the stream ends it. */
  worker?: ProfileWorker;
}

/** A batch in input order: standardized on this thread, or sent to the worker (`ready` once its reply is in). */
type Slot = { batch: ProfileBatch } | { reply: Promise<EncodedBatch>; ready: boolean };

/**
 * The match profiles of `inputs`, in order, in batches, standardized (standardizeContact +
 * profileOf) on a worker thread. Whenever the next batch is not back from the worker (while the
 * worker starts, a third of a second under tsx, or when the caller is the faster), this thread
 * standardizes the next batch not yet sent itself instead of waiting. Ends the worker when the
 * stream ends or the caller stops early.
 */
export async function* standardizedProfiles(
  inputs: Iterable<ContactInput> | AsyncIterable<ContactInput>,
  options: ParallelOptions = {},
): AsyncGenerator<MatchProfile[]> {
  for await (const batch of standardizedBatches(inputs, options)) yield batch.profiles;
}

/**
 * standardizedProfiles with each profile's blocking keys hashed (on the worker, for Matcher.addKeyed).
 * The inputs may arrive asynchronously (rows of a file being read): they are read as batches are
 * sent, so reading overlaps standardizing. A stream stopped early closes its input.
 */
export async function* standardizedBatches(
  inputs: Iterable<ContactInput> | AsyncIterable<ContactInput>,
  options: ParallelOptions = {},
): AsyncGenerator<ProfileBatch> {
  const size = options.batch ?? 1000,
    ahead = options.ahead ?? 4;
  const own = options.worker ?? new ProfileWorker({ tableLimit: options.tableLimit });
  const worker = own.worker;
  const decoder = new ProfileDecoder();
  const waiting = new Map<
    number,
    { slot: { ready: boolean }; resolve: (batch: EncodedBatch) => void; reject: (e: unknown) => void }
  >();
  let failure: unknown = null;
  // Batches go to the worker once it has loaded (it says so): until then this thread standardizes them.
  const callerHelps = options.callerHelps ?? true;
  // (or the batches wait in the worker's queue while it loads)
  const started = () => !callerHelps || own.started;
  worker.on("message", (m: { id: number; batch?: EncodedBatch; error?: string } | StartedMessage) => {
    if (isStarted(m)) return;
    const w = waiting.get(m.id)!;
    waiting.delete(m.id);
    w.slot.ready = true;
    if (m.error !== undefined) w.reject(new Error(`standardizing on a worker: ${m.error}`));
    else w.resolve(m.batch!);
  });
  const fail = (e: unknown) => {
    failure ??= e;
    for (const w of waiting.values()) {
      w.slot.ready = true;
      w.reject(e);
    }
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => {
    if (waiting.size > 0) fail(new Error(`the standardizing worker exited (code ${code}) with batches outstanding`));
  });
  if (own.failure) fail(own.failure);

  const today = options.today?.getTime();
  let next = 0;
  const send = (batch: ContactInput[]): Slot => {
    let slot: { reply: Promise<EncodedBatch>; ready: boolean };
    if (failure) slot = { reply: Promise.reject(failure), ready: true };
    else {
      const id = next++;
      let settle!: { resolve: (batch: EncodedBatch) => void; reject: (e: unknown) => void };
      slot = {
        reply: new Promise<EncodedBatch>((resolve, reject) => {
          settle = { resolve, reject };
        }),
        ready: false,
      };
      waiting.set(id, { slot, ...settle });
      worker.postMessage({ id, inputs: batch, today });
    }
    // Replies are awaited in order: one never reached (the caller stopped early, or an earlier one failed) is no unhandled rejection.
    slot.reply.catch(() => {});
    return slot;
  };
  // A list is read without an await per row; a stream with one.
  const stream = Symbol.asyncIterator in inputs ? inputs[Symbol.asyncIterator]() : null;
  const list = stream ? null : (inputs as Iterable<ContactInput>)[Symbol.iterator]();
  let done = false;
  const nextBatch = async (): Promise<ContactInput[] | null> => {
    const batch: ContactInput[] = [];
    while (!done && batch.length < size) {
      const r = list ? list.next() : await stream!.next();
      if (r.done) done = true;
      else batch.push(r.value);
    }
    return batch.length > 0 ? batch : null;
  };
  const slots: Slot[] = [];
  let sent = 0;
  const fill = async () => {
    while (started() && sent < ahead) {
      const batch = await nextBatch();
      if (batch === null) break;
      slots.push(send(batch));
      sent++;
    }
  };
  const waitingForWorker = () => slots.length === 0 || ("reply" in slots[0]! && !slots[0].ready);
  try {
    for (;;) {
      await fill();
      if (callerHelps && waitingForWorker()) {
        // Let the worker's messages in (they arrive between turns of the event loop), then work here rather than wait.
        await setImmediate();
        await fill();
        const batch = waitingForWorker() ? await nextBatch() : null;
        if (batch) {
          const { profiles, problems } = standardizeBatch(batch, options.today);
          slots.push({ batch: keyedBatch(profiles, problems) });
          continue;
        }
      }
      const head = slots.shift();
      if (head === undefined) break;
      let batch: ProfileBatch;
      if ("batch" in head) batch = head.batch;
      else {
        // Decoded in the order sent: each batch may add to the tables the next ones use.
        batch = decoder.decode(await head.reply);
        sent--;
      }
      yield batch;
    }
  } finally {
    await worker.terminate();
    // Stopped before the end (the caller broke off, or a batch failed): the input is closed (a file being read, its stream).
    if (!done) {
      try {
        await (list ? list.return?.() : stream!.return?.());
      } catch {
        // closing it failed: what stopped the stream is the error to report
      }
    }
  }
}
