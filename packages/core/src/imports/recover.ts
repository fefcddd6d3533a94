import type { Deps, ExecutionProbe, ExecutionStarter } from "../ports";
import { getImport, type ImportRow, type ImportStatus } from "./repo";
import * as Lifecycle from "./lifecycle";
import { markFailed } from "./mark-failed";
import { replayCommand } from "./describe";
import type { ChunkRange, ChunkRef } from "./stage";

/** What recovery did with one import whose execution was gone. */
export interface Recovery {
  importId: string;
  file: string;
  /** The status the import was found in. */
  status: ImportStatus;
  /**
   * resumed: a new execution processes its remaining chunks and finalizes it; restarted: a new
   * execution runs it from Validate (nothing was processed yet); failed: ended FAILED with the
   * reason and an alert (replay it in full).
   */
  action: "resumed" | "restarted" | "failed";
  execution?: string;
  reason?: string;
}

export interface RecoverOptions {
  /**
   * Leave alone imports registered or recovered less than this long ago: in AWS the trigger starts
   * an execution just after registering the import. 0 when nothing else can be starting one
   * (the local platform at boot).
   */
  graceMs?: number;
}

/** The chunk plan Stage recorded, complete and with the objects its pending chunks read still there. */
interface Plan {
  intact: boolean;
  pending: ChunkRef[];
  done: number;
  total: number;
  problem?: string;
}

/**
 * Crash recovery: every import in a non-terminal state whose execution is no longer running
 * (the platform that ran it died, the execution was aborted or failed before MarkFailed could
 * record it) is taken over. One that never got past staging is run again from the start; one
 * that was processing its chunks is resumed from its staged chunk plan (chunks are idempotent:
 * DONE ones are skipped) and finalized; when the plan is not intact it ends FAILED with the step
 * and the reason, and an alert naming the replay command. Idempotent: an import two recoveries
 * find is taken over by one of them (Lifecycle.recovering).
 */
export async function recover(
  deps: Deps,
  probe: ExecutionProbe,
  starter: ExecutionStarter,
  options: RecoverOptions = {},
): Promise<Recovery[]> {
  const graceMs = options.graceMs ?? 0;
  const { rows } = await deps.pool.query<ImportRow>(
    `SELECT * FROM imports WHERE status IN ('PENDING', 'STAGING', 'PROCESSING')
        AND greatest(created_at, recovered_at) <= now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY seq`,
    [graceMs],
  );
  const out: Recovery[] = [];
  for (const imp of rows) {
    const current = imp.execution_name ?? imp.id;
    if ((await probe.state(current)) === "RUNNING") continue;
    const r = await takeOver(deps, starter, imp);
    if (r) out.push(r);
  }
  return out;
}

async function takeOver(deps: Deps, starter: ExecutionStarter, imp: ImportRow): Promise<Recovery | undefined> {
  const base = { importId: imp.id, file: imp.file_name, status: imp.status };
  const where = whereItStopped(imp);
  let input: Record<string, unknown> = { importId: imp.id };
  let action: "resumed" | "restarted" = "restarted";
  if (imp.status === "PROCESSING") {
    const plan = await stagedPlan(deps, imp);
    if (!plan.intact) {
      const reason =
        `its execution stopped ${where} and its staged chunk plan is not intact (${plan.problem}): ` +
        `replay it with: ${replayCommand(imp.id, "full")}`;
      // The same guard as a resume: only one recovery ends it.
      if (!(await Lifecycle.recovering(deps.pool, imp.id, imp, `${imp.id}-r${imp.recoveries + 1}`))) return undefined;
      await markFailed(deps, imp.id, { Error: "ExecutionLost", Cause: reason });
      return { ...base, action: "failed", reason };
    }
    input = { importId: imp.id, resume: true };
    action = "resumed";
  }
  const execution = `${imp.id}-r${imp.recoveries + 1}`;
  if (!(await Lifecycle.recovering(deps.pool, imp.id, imp, execution))) return undefined;
  // A start that fails leaves the import as it was, its new execution missing: the next recovery takes it again.
  await starter.start(execution, input);
  deps.log.warn(`import ${action} after its execution was gone`, {
    importId: imp.id,
    file: imp.file_name,
    where,
    execution,
  });
  return { ...base, action, execution };
}

/** "at chunk 3 of 10", or "in stage": where an import was when its execution went. */
export function whereItStopped(imp: ImportRow): string {
  return imp.status === "PROCESSING"
    ? `at chunk ${imp.chunks_done} of ${imp.chunks_total ?? "?"}`
    : `in ${imp.current_step ?? imp.status}`;
}

interface ChunkRow {
  chunk_index: number;
  object_key: string;
  records: number;
  byte_range: ChunkRange | null;
  status: string;
}

async function stagedPlan(deps: Deps, imp: ImportRow): Promise<Plan> {
  const { rows } = await deps.pool.query<ChunkRow>(
    `SELECT chunk_index, object_key, records, byte_range, status FROM import_chunks
      WHERE import_id = $1 ORDER BY chunk_index`,
    [imp.id],
  );
  const total = imp.chunks_total ?? -1;
  const pending = rows
    .filter((c) => c.status !== "DONE")
    .map(
      (c): ChunkRef => ({
        index: c.chunk_index,
        key: c.object_key,
        records: c.records,
        ...(c.byte_range ? { range: c.byte_range } : {}),
      }),
    );
  const plan = { pending, done: rows.length - pending.length, total };
  if (rows.length !== total || rows.some((c, i) => c.chunk_index !== i)) {
    const of = total < 0 ? "an unknown number" : total;
    return { ...plan, intact: false, problem: `${rows.length} chunk(s) recorded of ${of}` };
  }
  for (const key of new Set(pending.map((c) => c.key))) {
    try {
      const head = await deps.store.head(imp.bucket, key);
      // A byte-range chunk reads the landed object: it must still be the version that was staged.
      if (key === imp.object_key && imp.etag && head.etag && head.etag !== imp.etag) {
        return { ...plan, intact: false, problem: `s3://${imp.bucket}/${key} was replaced since it was staged` };
      }
    } catch (err) {
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) {
        return { ...plan, intact: false, problem: `s3://${imp.bucket}/${key} is gone` };
      }
      throw err;
    }
  }
  return { ...plan, intact: true };
}

/**
 * The Resume task: the chunks of a recovered import still to process, from the plan Stage
 * recorded (the file is not read again). The Map then processes them and Finalize ends the import.
 */
export async function resume(deps: Deps, importId: string): Promise<{ importId: string; chunks: ChunkRef[] }> {
  const imp = await getImport(deps.pool, importId);
  if (imp.status !== "PROCESSING") {
    throw new Error(`import ${importId} is ${imp.status}: only a PROCESSING import resumes from its chunk plan`);
  }
  const plan = await stagedPlan(deps, imp);
  if (!plan.intact)
    throw new Error(`import ${importId} cannot resume: its staged chunk plan is not intact (${plan.problem})`);
  await Lifecycle.stepStarted(deps.pool, importId, "process");
  deps.log.info("resuming from the staged chunk plan", {
    importId,
    done: plan.done,
    pending: plan.pending.length,
    chunks: plan.total,
  });
  return { importId, chunks: plan.pending };
}
