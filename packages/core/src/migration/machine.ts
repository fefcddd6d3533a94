import { withTransaction, type Pool, type Queryable } from "../db";
import { withRetry, type RetryPolicy } from "../adapters/retry";
import type { Needs } from "../ports";
import { errorMessage, type StepError } from "../imports/mark-failed";
import { PEOPLE_MAX_ATTEMPTS } from "../people-consumer/feeders";
import { tableSpecs, type MappingFile, type TableSpec } from "./mapping";
import type { LegacyReader } from "./readers";
import { itemFailure, runCatalogue, unchangedCatalogue } from "./catalogue";
import {
  checkItem,
  getRun,
  landPlanned,
  landsLater,
  LEGACY_SOURCE,
  planRanges,
  startRun,
  type LandDeps,
  type Manifest,
  type RunOptions,
  type RunRow,
  type CheckItem,
  type RangeCheck,
} from "./run";

/**
 * The steps a migration run is made of, shared by the CLI (`leadpipe migrate`, one process) and the
 * AWS state machine (stacks/legacy-migration.asl.json, one Lambda per step and per range): open a run,
 * plan a phase's key ranges, land one range, watch the imports and people, close the run.
 */

/** Where a run's manifest and item lists go: beside the imports' reports. */
export const MIGRATION_REPORTS_PREFIX = "reports/migrations/";
export const manifestKey = (runId: string) => `${MIGRATION_REPORTS_PREFIX}${runId}/manifest.json`;
/** The item list of a phase, read by the Distributed Map's ItemReader. */
export const itemsKey = (runId: string, phase: Phase) => `${MIGRATION_REPORTS_PREFIX}${runId}/items-${phase}.json`;
/** The item list of a reconciliation (one item per checkpointed range), read by the reconcile Map's ItemReader. */
export const checksKey = (runId: string, checkId: string) =>
  `${MIGRATION_REPORTS_PREFIX}${runId}/checks-${checkId}.json`;
/**
 * Where a Distributed Map exports its items' outputs (its ResultWriter), beside their item list:
 * `reports/migrations/<run_id>/results/items-first/<map run id>/manifest.json`, `SUCCEEDED_0.json` …
 */
export const resultsPrefix = (itemList: string) => itemList.replace(/\/([^/]+)\.json$/, "/results/$1");
/** Every run's exported results: what the state machine may write (and nothing else) in the bucket. */
export const MIGRATION_RESULTS = `${MIGRATION_REPORTS_PREFIX}*/results/*`;

/** What a new run is asked for (the CLI's options; the state machine's input). */
export interface RunRequest {
  mapping?: MappingFile;
  only?: string[];
  rangeRows?: number;
  timeZone?: string;
  /** The CLI's `--parallel` (kept for `migrate verify`). */
  parallel?: number;
}

export const DEFAULT_RANGE_ROWS = 50_000;

/** Starts a run of `reader`'s source: its mapping is checked against the source before the run exists. */
export async function beginRun(db: Queryable, reader: LegacyReader, req: RunRequest): Promise<string> {
  const mapping = req.mapping ?? { tables: {} };
  const rangeRows = req.rangeRows ?? DEFAULT_RANGE_ROWS;
  if (!Number.isInteger(rangeRows) || rangeRows < 1)
    throw new Error(`rangeRows must be a positive integer, got ${JSON.stringify(req.rangeRows)}`);
  const opts: RunOptions = {
    mapping,
    only: req.only,
    rangeRows,
    timeZone: req.timeZone ?? mapping.timeZone ?? "UTC",
    ...(req.parallel ? { parallel: req.parallel } : {}),
  };
  // Refuse a bad mapping before a run exists; the catalogue it was checked against is the run's.
  const tables = await reader.tables();
  tableSpecs(tables, opts.mapping, opts.only);
  const fingerprint = await reader.fingerprint();
  if (Object.keys(fingerprint).length) opts.fingerprint = fingerprint;
  return startRun(db, reader.label, opts, tables);
}

/**
 * A run that can go on reading this source: RUNNING, LANDED (every range landed, the wait died) or
 * FAILED (the state machine's Catch), which becomes RUNNING again. A reconciled run is verified instead.
 */
export async function resumableRun(db: Queryable, reader: LegacyReader, runId: string): Promise<RunRow> {
  const run = await getRun(db, runId);
  if (run.source !== reader.label) throw new Error(`run ${run.run_id} migrated ${run.source}, not ${reader.label}`);
  if (run.status === "FAILED") {
    await db.query(
      "UPDATE migration_runs SET status = 'RUNNING', status_reason = NULL, finished_at = NULL WHERE run_id = $1 AND status = 'FAILED'",
      [runId],
    );
    return { ...run, status: "RUNNING" };
  }
  if (run.status !== "RUNNING" && run.status !== "LANDED")
    throw new Error(`run ${run.run_id} is ${run.status}: nothing to resume (verify it instead)`);
  return run;
}

/**
 * The phases of a run: every table but those whose rows name other tables' landed rows (touchpoints),
 * then those, once the first phase's imports are done.
 */
export const PHASES = {
  first: (s: TableSpec) => !landsLater(s),
  later: landsLater,
} as const;
export type Phase = keyof typeof PHASES;

export function phaseOf(value: unknown): Phase {
  if (value !== "first" && value !== "later")
    throw new Error(`phase must be "first" or "later", got ${JSON.stringify(value)}`);
  return value;
}

/** One key range of one table: an item of the state machine's Map (JSON, as the ItemReader reads it). */
export interface RangeItem {
  run_id: string;
  table: string;
  range_no: number;
  after_key: string[] | null;
  up_to: string[] | null;
}

/**
 * A phase's key ranges, split by key from the primary key's index (`LegacyReader.splits`, the plan a
 * CLI run's lanes read), numbered from 0 per table: the same ranges, so the same objects, as the CLI.
 * The source's catalogue is read once here and must be the run's (a resumed run whose source changed
 * is refused); the items land with the run's, and do not read it again.
 */
export async function planPhase(
  db: Queryable,
  reader: LegacyReader,
  run: RunRow,
  phase: Phase,
): Promise<{ items: RangeItem[]; next: Phase | null }> {
  const splits = reader.splits?.bind(reader);
  if (!splits) throw new Error(`a ${reader.kind} source cannot be split into key ranges: migrate it with the CLI`);
  const { tables, specs } = await unchangedCatalogue(db, reader, run);
  const items: RangeItem[] = [];
  for (const spec of specs.filter(PHASES[phase])) {
    const table = { ...tables.find((t) => t.name === spec.table)!, key: spec.key };
    for await (const r of planRanges(splits(table, null, run.options.rangeRows), null, 0))
      items.push({ run_id: run.run_id, table: spec.table, range_no: r.rangeNo, after_key: r.afterKey, up_to: r.upTo });
  }
  const next = phase === "first" && specs.some(PHASES.later) ? "later" : null;
  return { items, next };
}

/** What landing one item did: landed (an object), checkpointed before (a retry or a resumed run), or empty. */
export type ItemOutcome = "landed" | "checkpointed" | "empty" | "nothing to land";

/**
 * Lands one item as a CLI lane lands a range (landPlanned: read, cast, quarantine, object, checkpoint),
 * with the run's catalogue: the source's is not read (its rows are, by the columns the run planned).
 * Idempotent: an item whose checkpoint is there is not read again (a retried Lambda, a resumed run);
 * a checkpoint of the same number but other bounds means the plan changed under the run, and is refused.
 */
export async function landItem(deps: LandDeps, item: RangeItem): Promise<{ outcome: ItemOutcome; rows: number }> {
  try {
    return await landOne(deps, item);
  } catch (err) {
    // A lost connection (the legacy database, PostgreSQL, S3) is retried (the Map's Retry); the rest fails the run.
    throw itemFailure(err, item.run_id, `landing ${item.table} range ${item.range_no}`);
  }
}

async function landOne(deps: LandDeps, item: RangeItem): Promise<{ outcome: ItemOutcome; rows: number }> {
  const run = await getRun(deps.pool, item.run_id);
  if (run.status !== "RUNNING") throw new Error(`run ${run.run_id} is ${run.status}: its ranges are not landed again`);
  if (run.source !== deps.reader.label)
    throw new Error(`run ${run.run_id} migrated ${run.source}, not ${deps.reader.label}`);
  const {
    rows: [done],
  } = await deps.pool.query<{ after_key: string[] | null; source_rows: number }>(
    "SELECT after_key, source_rows FROM migration_ranges WHERE run_id = $1 AND table_name = $2 AND range_no = $3",
    [item.run_id, item.table, item.range_no],
  );
  if (done) {
    if (JSON.stringify(done.after_key) !== JSON.stringify(item.after_key))
      throw new Error(
        `${item.table} range ${item.range_no} was checkpointed after ${JSON.stringify(done.after_key)}, ` +
          `not after ${JSON.stringify(item.after_key)}: the source changed since the plan (migrate it as a new run)`,
      );
    return { outcome: "checkpointed", rows: done.source_rows };
  }
  const { tables, specs } = await runCatalogue(deps.pool, deps.reader, run);
  const spec = specs.find((s) => s.table === item.table);
  if (!spec) throw new Error(`run ${run.run_id} does not migrate a table "${item.table}"`);
  const table = { ...tables.find((t) => t.name === spec.table)!, key: spec.key };
  const range = { rangeNo: item.range_no, afterKey: item.after_key, upTo: item.up_to };
  const landed = await landPlanned(deps, run.run_id, run.options, spec, table, range);
  const {
    rows: [now],
  } = await deps.pool.query<{ source_rows: number }>(
    "SELECT source_rows FROM migration_ranges WHERE run_id = $1 AND table_name = $2 AND range_no = $3",
    [item.run_id, item.table, item.range_no],
  );
  if (!now) return { outcome: "empty", rows: 0 };
  return { outcome: landed.length ? "landed" : "nothing to land", rows: now.source_rows };
}

/**
 * Reconciles one range of a reconciliation (an item of the reconcile Map, or a CLI lane's range) and
 * stores its check: idempotent, a retried item replaces its row. A lost connection is retryable.
 */
export async function checkRangeItem(db: Queryable, reader: LegacyReader, item: CheckItem): Promise<RangeCheck> {
  if (
    typeof item?.run_id !== "string" ||
    typeof item.check_id !== "string" ||
    typeof item.table !== "string" ||
    !Number.isInteger(item.range_no)
  )
    throw new Error(`not a reconcile item: ${JSON.stringify(item)}`);
  try {
    return await checkItem(db, reader, item);
  } catch (err) {
    throw itemFailure(err, item.run_id, `reconciling ${item.table} range ${item.range_no}`);
  }
}

export interface RunProgress {
  /** Landed objects without a finished import (none yet, or still running; a DUPLICATE's original too). */
  imports_pending: number;
  imports_failed: number;
  /** Finished legacy-contacts imports whose people are not resolved yet. */
  people_pending: number;
  /** An import whose people could not be resolved after every attempt, with the reason. */
  people_failed?: string;
}

/** Where a run's imports and their people are: what the state machine waits on between its steps. */
export async function runProgress(db: Queryable, runId: string): Promise<RunProgress> {
  await getRun(db, runId);
  const {
    rows: [p],
  } = await db.query<{ pending: number; failed: number; people: number; people_failed: string | null }>(
    `WITH objects AS (
       SELECT r.object_key, r.sha256 FROM migration_ranges r WHERE r.run_id = $1 AND r.object_key IS NOT NULL
     ), latest AS (
       SELECT o.object_key, i.id, i.status, i.duplicate_of
         FROM objects o LEFT JOIN LATERAL (
           SELECT id, status, duplicate_of FROM imports
            WHERE object_key = o.object_key AND sha256 = o.sha256 AND replay_of IS NULL
            ORDER BY (status = 'DUPLICATE'), seq DESC LIMIT 1) i ON true
     ), holders AS (
       SELECT l.object_key, h.id, h.status, h.source
         FROM latest l LEFT JOIN imports h ON h.id = coalesce(l.duplicate_of, l.id)
     )
     SELECT count(*) FILTER (WHERE status IS NULL OR status NOT IN ('COMPLETE', 'COMPLETE_WITH_ERRORS', 'FAILED', 'DUPLICATE'))::int AS pending,
            count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
            count(*) FILTER (WHERE status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS') AND source = $2
                               AND NOT EXISTS (SELECT 1 FROM people_resolutions pr WHERE pr.import_id = holders.id))::int AS people,
            (SELECT 'import ' || f.import_id || ': ' || f.reason FROM people_failures f
              WHERE f.import_id IN (SELECT id FROM holders) AND f.attempts >= $3
                AND NOT EXISTS (SELECT 1 FROM people_resolutions pr WHERE pr.import_id = f.import_id)
              ORDER BY f.import_id LIMIT 1) AS people_failed
       FROM holders`,
    [runId, LEGACY_SOURCE, PEOPLE_MAX_ATTEMPTS],
  );
  return {
    imports_pending: p?.pending ?? 0,
    imports_failed: p?.failed ?? 0,
    people_pending: p?.people ?? 0,
    ...(p?.people_failed ? { people_failed: p.people_failed } : {}),
  };
}

/**
 * Closes a reconciled run: the manifest is written beside the imports' reports first (the run is
 * already COMPLETE or UNBALANCED when its checks are summed), then touchpoints of legacy person rows
 * follow their records into the golden records just resolved.
 */
export async function closeRun(deps: Needs<"pool" | "store", "bucket">, manifest: Manifest): Promise<string> {
  const key = await writeManifest(deps, manifest);
  await followPeople(deps.pool);
  return key;
}

/**
 * Moves legacy touchpoints to their records' golden records (rule 3), in one REPEATABLE READ
 * transaction: a touchpoint that a merge committed meanwhile has moved (the trigger of migration 331)
 * is not written back to the golden record it left; the update fails with 40001 and is tried again
 * on a fresh snapshot. Returns how many moved.
 */
export async function followPeople(pool: Pool): Promise<number> {
  return withRetry(
    () =>
      withTransaction(pool, async (client) => {
        await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        const { rows } = await client.query<{ moved: string }>("SELECT legacy_touchpoints_follow_people() AS moved");
        return Number(rows[0]?.moved ?? 0);
      }),
    FOLLOW_RETRY,
  );
}

/** A serialization failure means a merge moved a touchpoint meanwhile: five tries, 0.5 s apart and more. */
const FOLLOW_RETRY: RetryPolicy = { retries: 5, minTimeoutMs: 500, factor: 2 };

/** Writes a run's manifest beside the imports' reports (reports/migrations/<run_id>/manifest.json). */
export async function writeManifest(deps: Needs<"store", "bucket">, manifest: Manifest): Promise<string> {
  const key = manifestKey(manifest.run_id);
  await deps.store.write(deps.settings.bucket, key, JSON.stringify(manifest, null, 2) + "\n", "application/json");
  return key;
}

/**
 * The state machine's Catch: a run that cannot finish ends FAILED with the failing step's error (a run
 * already reconciled keeps its status: an UNBALANCED manifest is alerted, not overwritten), and the
 * alert names the run, the error and how to go on. `runId` is absent when the run never opened.
 */
export async function failRun(
  deps: Needs<"pool" | "notifier">,
  runId: string | undefined,
  error: StepError | undefined,
): Promise<{ run_id: string | null; status: string | null; reason: string }> {
  const reason = `${error?.Error ?? "Error"}: ${errorMessage(error)}`;
  let status: string | null = null;
  if (runId) {
    await deps.pool.query(
      `UPDATE migration_runs SET status = 'FAILED', status_reason = $2, finished_at = now()
        WHERE run_id = $1 AND status IN ('RUNNING', 'LANDED')`,
      [runId, reason.slice(0, 4000)],
    );
    status = (await getRun(deps.pool, runId)).status;
  }
  await deps.notifier.alert(
    `leadpipe legacy migration ${status ?? "FAILED"}${runId ? `: ${runId}` : ""}`,
    runId
      ? `Migration run ${runId} is ${status}: ${reason}\n` +
          (status === "UNBALANCED"
            ? `Its manifest (${manifestKey(runId)}) names the rows that differ.`
            : `What landed is checkpointed: start the state machine again with {"resume_run_id": "${runId}"}, or ` +
              `\`npx leadpipe migrate --from … --resume ${runId}\`.`)
      : `The migration did not start: ${reason}`,
  );
  return { run_id: runId ?? null, status, reason };
}
