import { Transform, type Readable } from "node:stream";
import picomatch from "picomatch";
import pRetry from "p-retry";
import type { Pool } from "../db";
import type { Logger } from "../log";
import type { Needs, Notifier, ObjectStore } from "../ports";
import { claimOwner, heartbeat, holderIsDead, LEASE_SECONDS } from "./claim";
import { type HashPlace, streamHash } from "./hasher";
import type { PullerSpec } from "./spec";
import { SizeMismatchError, TrustRefusedError, type RemoteEntry, type Transport } from "./transport";

export type Outcome = "landed" | "duplicate" | "already-landed" | "unstable" | "skipped" | "failed";

/** One remote file considered by a run (the CLI prints these as JSON lines). */
export interface PullResult {
  puller: string;
  path: string;
  size: number;
  outcome: Outcome;
  reason?: string;
  import_id?: string;
  /** The ledger row and, when landed, the object key and its sha256. */
  ledger_id?: number;
  key?: string;
  sha256?: string;
}

/** What a pull touches (the Needs shape) and its own hooks. */
export type PullDeps = Needs<"pool" | "store" | "notifier" | "log", "bucket"> & {
  /** The source a file name lands as (the source specs' recognition), or undefined. */
  sourceOf(fileName: string): string | undefined;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff of the per-file retries (ms); tests shorten it. */
  retryMinMs?: number;
};

export interface PullOptions {
  trigger: "cli" | "schedule" | "lambda";
  /** Wait within the run for files first seen now to become stable (default true). */
  waitForStable?: boolean;
}

/**
 * Claims a version for this run (a lease it renews while landing); a claim whose holder is a dead
 * process of this machine is taken over at once instead of after its lease.
 */
async function claimVersion(deps: PullDeps, id: number, log: Logger): Promise<boolean> {
  const owner = claimOwner();
  const claim = async (takeFrom: string | null) =>
    (
      await deps.pool.query<{ claimed: boolean }>("SELECT puller_claim($1, $2, $3, $4) AS claimed", [
        id,
        LEASE_SECONDS,
        owner,
        takeFrom,
      ])
    ).rows[0]?.claimed === true;
  if (await claim(null)) return true;
  const {
    rows: [h],
  } = await deps.pool.query<{ holder: string | null }>("SELECT puller_claim_holder($1) AS holder", [id]);
  if (!h?.holder || !holderIsDead(h.holder)) return false;
  log.warn("taking over a landing claimed by a dead process", { ledger_id: id, holder: h.holder });
  return claim(h.holder);
}

/** SNS subjects are at most 100 characters. */
function alert(notifier: Notifier, subject: string, message: string): Promise<void> {
  return notifier.alert(subject.length > 100 ? `${subject.slice(0, 99)}…` : subject, message);
}
const TEMP_NAME = /(^\.|\.(part|partial|tmp|filepart|crdownload)$)/i;

/** The landing key: inbox/<source>/YYYY/MM/DD/<name>, the day in UTC (as `leadpipe ingest` drops). */
export function landingKey(source: string, name: string, at: Date): string {
  return `inbox/${source}/${at.toISOString().slice(0, 10).replaceAll("-", "/")}/${name}`;
}

/**
 * A pass-through that hashes (sha256, on a worker thread for large files: see hasher.ts) and
 * counts what flows, and refuses to end short or long of `expected`.
 */
export function hashingCounter(
  expected: number | undefined,
  place?: HashPlace,
): Transform & { sha256(): string; bytes(): number } {
  const hash = streamHash(expected, place);
  let bytes = 0;
  let digest = "";
  // 1 MB buffered each side (not 16 kB): fewer pauses of the transport's stream per megabyte.
  const t = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (expected !== undefined && bytes > expected)
        return cb(new SizeMismatchError(`more than the ${expected} bytes listed arrived`));
      const wait = hash.update(chunk);
      if (wait) wait.then(() => cb(null, chunk), cb);
      else cb(null, chunk);
    },
    flush(cb) {
      if (expected !== undefined && bytes !== expected)
        return cb(new SizeMismatchError(`${bytes} bytes arrived where ${expected} were listed`));
      hash.digest().then((hex) => {
        digest = hex;
        cb();
      }, cb);
    },
    destroy(err, cb) {
      if (!digest) hash.abort();
      cb(err);
    },
  });
  return Object.assign(t, { sha256: () => digest, bytes: () => bytes });
}

/**
 * Streams one remote file into the landing bucket (multipart; nothing on local disk), hashing and
 * counting on the way. The object appears only when every byte arrived: a stream that fails or
 * ends short aborts the upload.
 */
export async function landOne(
  transport: Transport,
  entry: RemoteEntry,
  store: ObjectStore,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; bytes: number }> {
  signal?.throwIfAborted();
  const body: Readable = await transport.read(entry);
  signal?.addEventListener("abort", () => body.destroy(signal.reason as Error), { once: true });
  const counter = hashingCounter(entry.exactSize === false ? undefined : entry.size, transport.hashOn);
  body.on("error", (err) => counter.destroy(err));
  counter.on("error", () => body.destroy());
  body.pipe(counter);
  await store.write(bucket, key, counter);
  return { sha256: counter.sha256(), bytes: counter.bytes() };
}

interface Observed {
  id: number;
  path: string;
  outcome: "already-landed" | "stable" | "unstable";
  reason: string | null;
  wait_seconds: string;
}

async function observe(
  pool: Pool,
  spec: PullerSpec,
  stableSeconds: number,
  entries: RemoteEntry[],
): Promise<Map<string, Observed>> {
  const files = entries.map((e) => ({
    path: e.path,
    size: e.size,
    modified_at: e.modifiedAt.toISOString(),
    remote_hash: e.remoteHash ?? "",
  }));
  const { rows } = await pool.query<Observed>("SELECT * FROM puller_observe($1, $2, $3)", [
    spec.name,
    stableSeconds,
    JSON.stringify(files),
  ]);
  return new Map(rows.map((r) => [r.path, { ...r, id: Number(r.id) }]));
}

/** The files a listing offers: the pattern, no temporary names, and (with a done marker) only those marked done. */
export function candidates(spec: PullerSpec, listing: RemoteEntry[]): { ready: RemoteEntry[]; waiting: RemoteEntry[] } {
  const pattern = spec.transport === "graph" ? spec.attachment_pattern : spec.pattern;
  const matches = picomatch(pattern, { dot: false, nocase: false });
  const names = new Set(listing.map((e) => e.path));
  const ready: RemoteEntry[] = [];
  const waiting: RemoteEntry[] = [];
  for (const e of listing) {
    if (TEMP_NAME.test(e.name) || !matches(e.name)) continue;
    if (spec.done_marker && e.name.endsWith(spec.done_marker)) continue;
    if (spec.done_marker && !names.has(e.path + spec.done_marker)) waiting.push(e);
    else ready.push(e);
  }
  return { ready, waiting };
}

/**
 * Runs one puller once: lists, records every version in the ledger, waits (within the run) for
 * new files to prove stable, and streams each complete file not landed before into the landing
 * bucket, with retries and backoff; then the after-action. Failures are recorded and alerted.
 */
export async function pull(
  spec: PullerSpec,
  transport: Transport,
  deps: PullDeps,
  options: PullOptions,
): Promise<PullResult[]> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const log = deps.log.child({ puller: spec.name });
  const {
    rows: [run],
  } = await deps.pool.query<{ id: string }>("INSERT INTO puller_runs (puller, trigger) VALUES ($1, $2) RETURNING id", [
    spec.name,
    options.trigger,
  ]);
  const results: PullResult[] = [];
  let runError: string | undefined;
  try {
    // Landings of earlier runs whose imports registered since (a Lambda run does not wait for them).
    await deps.pool.query(
      `SELECT puller_link_imports(array(SELECT id FROM puller_files
                            WHERE puller = $1 AND state = 'landed' AND import_id IS NULL))`,
      [spec.name],
    );
    // A done marker says complete: no waiting; Graph attachments never change once received.
    const stableSeconds = spec.done_marker || spec.transport === "graph" ? 0 : spec.stable_seconds;
    let listing = candidates(spec, await transport.list());
    let observed = await observe(deps.pool, spec, stableSeconds, listing.ready);
    const wait = Math.max(
      0,
      ...[...observed.values()].filter((o) => o.outcome === "unstable").map((o) => Number(o.wait_seconds)),
    );
    if (wait > 0 && options.waitForStable !== false) {
      log.info("waiting for new files to prove stable", { seconds: wait });
      await sleep(Math.ceil(wait * 1000) + 50);
      listing = candidates(spec, await transport.list());
      observed = await observe(deps.pool, spec, stableSeconds, listing.ready);
    }
    for (const e of listing.waiting) {
      results.push({
        puller: spec.name,
        path: e.path,
        size: e.size,
        outcome: "unstable",
        reason: `no done marker ${e.name}${spec.done_marker} yet`,
      });
    }
    let failures = 0;
    for (const entry of listing.ready) {
      const o = observed.get(entry.path);
      if (!o) continue;
      const base = { puller: spec.name, path: entry.path, size: entry.size, ledger_id: o.id };
      if (o.outcome !== "stable") {
        if (o.outcome === "unstable")
          await deps.pool.query("SELECT puller_not_landed($1, 'unstable', $2)", [o.id, o.reason]);
        results.push({ ...base, outcome: o.outcome, ...(o.reason ? { reason: o.reason } : {}) });
        continue;
      }
      const source = spec.source ?? deps.sourceOf(entry.name);
      if (!source) {
        const reason = `no source recognizes the file name ${entry.name}: set "source" on the puller`;
        await deps.pool.query("SELECT puller_not_landed($1, 'skipped', $2)", [o.id, reason]);
        results.push({ ...base, outcome: "skipped", reason });
        continue;
      }
      if (!(await claimVersion(deps, o.id, log))) {
        results.push({ ...base, outcome: "skipped", reason: "another run is landing this file now" });
        continue;
      }
      const key = landingKey(source, entry.name, now());
      const { refused, ...landed } = await landClaimed(spec, transport, deps, entry, o.id, key, log);
      results.push({ ...base, ...landed });
      if (refused) throw refused;
      if (landed.outcome === "failed") {
        failures++;
        continue;
      }
      await afterAction(spec, transport, entry).catch(async (err: Error) => {
        log.warn("after-action failed", { path: entry.path, error: err });
        await alert(
          deps.notifier,
          `leadpipe puller ${spec.name}: after-action on ${entry.path} failed`,
          `${entry.path} landed as ${key}, but "${spec.after}" failed: ${err.message}. The ledger keeps it from landing twice.`,
        );
      });
    }
    if (failures === 0) await transport.commit?.();
  } catch (err) {
    runError = `${(err as Error).name}: ${(err as Error).message}`;
    if (!results.some((r) => r.outcome === "failed")) {
      results.push({ puller: spec.name, path: transport.describe, size: 0, outcome: "failed", reason: runError });
      await alert(
        deps.notifier,
        `leadpipe puller ${spec.name} FAILED`,
        `Puller ${spec.name} (${transport.describe}) landed nothing: ${runError}`,
      );
    }
  } finally {
    const outcomes: Record<string, number> = {};
    for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    await deps.pool.query("UPDATE puller_runs SET finished_at = now(), outcomes = $2, error = $3 WHERE id = $1", [
      run!.id,
      JSON.stringify(outcomes),
      runError ?? null,
    ]);
  }
  return results;
}

/**
 * Lands one claimed version, renewing its claim while it streams (a lost claim stops the stream),
 * with retries and backoff; records the outcome, and alerts a failure. A refused server (host key,
 * certificate) comes back as `refused`: the run stops there.
 */
async function landClaimed(
  spec: PullerSpec,
  transport: Transport,
  deps: PullDeps,
  entry: RemoteEntry,
  id: number,
  key: string,
  log: Logger,
): Promise<Pick<PullResult, "outcome" | "key" | "sha256" | "reason"> & { refused?: TrustRefusedError }> {
  const stop = new AbortController();
  const lease = heartbeat(deps.pool, "puller_files", id, claimOwner(), log, (err) => stop.abort(err));
  try {
    const landed = await pRetry(() => landOne(transport, entry, deps.store, deps.settings.bucket, key, stop.signal), {
      retries: spec.attempts - 1,
      minTimeout: deps.retryMinMs ?? 1000,
      factor: 2,
      shouldRetry: ({ error }) => !(error instanceof TrustRefusedError || stop.signal.aborted),
      onFailedAttempt: ({ error, attemptNumber }) =>
        log.warn("landing attempt failed", { path: entry.path, attempt: attemptNumber, error }),
    });
    lease.stop();
    await deps.pool.query("SELECT puller_landed($1, $2, $3)", [id, key, landed.sha256]);
    log.info("landed", { path: entry.path, key, bytes: landed.bytes, sha256: landed.sha256 });
    return { outcome: "landed", key, sha256: landed.sha256 };
  } catch (err) {
    lease.stop();
    const reason = `${(err as Error).name}: ${(err as Error).message}`;
    // A run that lost its claim leaves the version to the run that holds it now.
    if (!stop.signal.aborted) await deps.pool.query("SELECT puller_not_landed($1, 'failed', $2)", [id, reason]);
    await alert(
      deps.notifier,
      `leadpipe puller ${spec.name}: ${entry.path} FAILED`,
      `Puller ${spec.name} (${transport.describe}) could not land ${entry.path} after ${spec.attempts} attempt(s): ${reason}. ` +
        "Nothing half-landed; the next run tries again.",
    );
    return { outcome: "failed", reason, ...(err instanceof TrustRefusedError ? { refused: err } : {}) };
  }
}

async function afterAction(spec: PullerSpec, transport: Transport, entry: RemoteEntry): Promise<void> {
  if (spec.after === "keep") return;
  if (spec.after === "delete") {
    if (!transport.remove) throw new Error(`${spec.transport} cannot delete`);
    return transport.remove(entry);
  }
  if (!transport.archive) throw new Error(`${spec.transport} cannot move files`);
  return transport.archive(entry, spec.after.slice("move:".length));
}

/** Fills in the import ids (and 'duplicate') of landed results once their imports registered. */
export async function linkImports(pool: Pool, results: PullResult[]): Promise<PullResult[]> {
  const ids = results.filter((r) => r.outcome === "landed" && r.ledger_id).map((r) => r.ledger_id!);
  if (!ids.length) return results;
  const { rows } = await pool.query<{ id: string; import_id: string; import_status: string }>(
    "SELECT * FROM puller_link_imports($1::bigint[])",
    [ids],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return results.map((r) => {
    const l = r.ledger_id ? byId.get(r.ledger_id) : undefined;
    if (!l || r.outcome !== "landed") return r;
    return {
      ...r,
      import_id: l.import_id,
      ...(l.import_status === "DUPLICATE"
        ? { outcome: "duplicate" as const, reason: "the same content was imported before" }
        : {}),
    };
  });
}

/** An operator's re-pull of one file: its newest version lands again at the next run. */
export async function force(pool: Pool, puller: string, remotePath: string): Promise<boolean> {
  const {
    rows: [r],
  } = await pool.query<{ n: number }>("SELECT puller_force($1, $2) AS n", [puller, remotePath]);
  return (r?.n ?? 0) > 0;
}

/** The puller's local date and HH:MM in its time zone. */
export function localClock(at: Date, timezone: string): { day: string; hhmm: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return { day: `${parts.year}-${parts.month}-${parts.day}`, hhmm: `${parts.hour}:${parts.minute}` };
}

/** What a puller expects, in words (the alert and the console name it the same way). */
export function expectedFile(spec: PullerSpec): string {
  return spec.transport === "graph"
    ? `an attachment ${spec.attachment_pattern} in ${spec.mailbox}/${spec.folder}`
    : `${spec.pattern} in ${spec.dir} on ${spec.host}`;
}

/** The local day whose file is due at `at` (its `expected_by` has passed), or undefined (none expected yet). */
function dueDay(spec: PullerSpec, at: Date): string | undefined {
  if (!spec.expected_by) return undefined;
  const { day, hhmm } = localClock(at, spec.timezone);
  return hhmm < spec.expected_by ? undefined : day;
}

/** A day's file expected by `expected_by` that has not landed. */
export interface MissingFile {
  puller: string;
  /** The puller's local day. */
  day: string;
  expected_by: string;
  timezone: string;
  /** What was expected, in words. */
  what: string;
}

/**
 * The pullers whose file is missing at `at`: `expected_by` passed (local time) and nothing landed that
 * local day. The same decision as `checkExpected`, without recording or sending its alert (read-only).
 */
export async function missingFiles(specs: readonly PullerSpec[], pool: Pool, at: Date): Promise<MissingFile[]> {
  const due = specs.flatMap((spec) => {
    const day = spec.direction === "pull" ? dueDay(spec, at) : undefined;
    return day ? [{ spec, day }] : [];
  });
  if (!due.length) return [];
  const { rows } = await pool.query<{ landed: boolean }>(
    `SELECT puller_landed_on(d.puller, d.day::date, d.tz) AS landed
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS d(puller, day, tz, n) ORDER BY d.n`,
    [due.map((d) => d.spec.name), due.map((d) => d.day), due.map((d) => d.spec.timezone)],
  );
  return due.flatMap(({ spec, day }, i) =>
    rows[i]?.landed
      ? []
      : [{ puller: spec.name, day, expected_by: spec.expected_by!, timezone: spec.timezone, what: expectedFile(spec) }],
  );
}

/**
 * After `expected_by` (local time), a day on which nothing landed alerts once, naming the
 * partner and the file expected. Returns whether it alerted.
 */
export async function checkExpected(spec: PullerSpec, deps: Needs<"pool" | "notifier">, at: Date): Promise<boolean> {
  const day = dueDay(spec, at);
  if (!day) return false;
  const {
    rows: [r],
  } = await deps.pool.query<{ due: boolean }>("SELECT puller_missing_alert_due($1, $2, $3) AS due", [
    spec.name,
    day,
    spec.timezone,
  ]);
  if (!r?.due) return false;
  await alert(
    deps.notifier,
    `leadpipe puller ${spec.name}: the ${day} file is missing`,
    `Puller ${spec.name} expected ${expectedFile(spec)} by ${spec.expected_by} ${spec.timezone} on ${day}; nothing has landed.`,
  );
  return true;
}
