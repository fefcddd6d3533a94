import { randomUUID } from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import type { Deps, ExecutionProbe, ExecutionStarter } from "../ports";
import { markFailed } from "./mark-failed";
import { whereItStopped } from "./recover";
import { RecordSplitter, splitRecords } from "../csv/records";
import * as Sources from "../sources/index";
import { chunkDialect } from "../sources/spec";
import { getImport, TERMINAL, type ImportRow } from "./repo";
import * as Lifecycle from "./lifecycle";
import { LINE_COLUMN, chunkText, type ChunkRange, type ChunkRef } from "./stage";

export type ReplayMode = "full" | "errors-only";

export interface ReplayRequest {
  mode: ReplayMode;
  /**
   * errors-only: an object in the bucket with corrected rows, in the source's format with a first
   * column `row_number` naming the row of the original file each one replaces. Without it, the
   * stored rejected rows are re-validated under the current rules.
   */
  fixedKey?: string;
  /** Who asked (recorded as the replay's uploaded_by). */
  requestedBy?: string;
}

export interface ReplayResult {
  /** The replay import, or null when there was nothing to replay. */
  replayId: string | null;
  original: string;
  mode: ReplayMode;
  /** Rows sent to the replay (errors-only), or null for a full replay (the whole file). */
  rows: number | null;
  /** Rows of a corrected file that an earlier replay already re-ingested: left alone. */
  alreadyResolved: number[];
  message: string;
}

/** A replay that cannot start: nothing has changed. */
export class ReplayRefusedError extends Error {
  override readonly name = "ReplayRefusedError";
}

/**
 * Replays an import as a new import (its own execution, counts and reports) that points at the
 * original. `full` re-runs the landed object; `errors-only` re-ingests only the rows of the
 * original still rejected (corrected, or re-validated as stored), keeping their original row
 * numbers and the original's landing sequence, so the result equals a clean run and replaying
 * twice equals replaying once. Finalize settles an errors-only replay against its original.
 *
 * An original still open whose execution is gone (`probe`: the platform that ran it died) is
 * first ended FAILED with the step and the reason (and an alert), then replayed: in full only.
 */
export async function replay(
  deps: Deps,
  starter: ExecutionStarter,
  importId: string,
  req: ReplayRequest,
  probe?: ExecutionProbe,
): Promise<ReplayResult> {
  const { pool } = deps;
  const asked = await getImport(pool, importId);
  let original = asked.replay_of ? await getImport(pool, asked.replay_of) : asked;
  if (!TERMINAL.includes(original.status)) {
    if (req.mode !== "full") {
      throw new ReplayRefusedError(
        `import ${original.id} is still ${original.status}: only a full replay can take over an import that did not end`,
      );
    }
    original = await endIfExecutionGone(deps, original, probe);
  }
  const running = await pool.query<{ id: string; status: string }>(
    `SELECT id, status FROM imports WHERE replay_of = $1 AND status NOT IN ('COMPLETE', 'COMPLETE_WITH_ERRORS', 'FAILED', 'DUPLICATE')`,
    [original.id],
  );
  if (running.rows[0])
    throw new ReplayRefusedError(
      `replay ${running.rows[0].id} of import ${original.id} is still ${running.rows[0].status}`,
    );
  if (original.status === "DUPLICATE") {
    throw new ReplayRefusedError(`import ${original.id} is a DUPLICATE of ${original.duplicate_of}: replay that one`);
  }
  if (!Sources.get(original.source ?? ""))
    throw new ReplayRefusedError(`import ${original.id} has no known source (${original.source}): nothing to replay`);

  const replayId = randomUUID();
  let key = original.object_key;
  let rows: number | null = null;
  let alreadyResolved: number[] = [];
  if (req.mode === "errors-only") {
    if (original.status === "FAILED") {
      throw new ReplayRefusedError(
        `import ${original.id} FAILED (${original.status_reason}): its rows were not all read; replay it with --mode full`,
      );
    }
    const outstanding = await outstandingRejects(deps, original.id);
    if (outstanding.size === 0) {
      return {
        replayId: null,
        original: original.id,
        mode: req.mode,
        rows: 0,
        alreadyResolved: [],
        message: `nothing to replay: import ${original.id} has no rejected rows left`,
      };
    }
    key = `replays/${replayId}/${original.file_name}`;
    const built = req.fixedKey
      ? await correctedRows(deps, original, outstanding, req.fixedKey)
      : await storedRows(deps, original, outstanding);
    alreadyResolved = built.alreadyResolved;
    if (built.rows === 0) {
      return {
        replayId: null,
        original: original.id,
        mode: req.mode,
        rows: 0,
        alreadyResolved,
        message: `nothing to replay: every row of the corrected file was already re-ingested`,
      };
    }
    await deps.store.write(original.bucket, key, Readable.from(built.lines), "text/csv");
    rows = built.rows;
  }

  await pool.query(
    `INSERT INTO imports (id, bucket, object_key, event_key, file_name, source, partner, kind, schema_version, size_bytes,
                          uploaded_by, uploaded_at, replay_of, replay_mode, lineage_seq, holds_content_slot)
     SELECT $1, bucket, $2, $3, file_name, source, partner, kind, schema_version, NULL, $4, now(), id, $5, coalesce(lineage_seq, seq), $7
       FROM imports WHERE id = $6`,
    // A full replay of a FAILED import stands in for it: the same file sent again is then its DUPLICATE.
    [
      replayId,
      key,
      `replay:${replayId}`,
      req.requestedBy ?? "replay",
      req.mode,
      original.id,
      req.mode === "full" && original.status === "FAILED",
    ],
  );
  try {
    await starter.start(replayId, { importId: replayId });
  } catch (err) {
    // Never left PENDING (it would block the next replay of the original).
    await Lifecycle.notStarted(
      pool,
      replayId,
      `the replay's execution could not be started: ${(err as Error).message}`,
    );
    throw err;
  }
  deps.log.info("replay started", { importId: replayId, replayOf: original.id, mode: req.mode, rows });
  return {
    replayId,
    original: original.id,
    mode: req.mode,
    rows,
    alreadyResolved,
    message:
      req.mode === "full"
        ? `replaying s3://${original.bucket}/${original.object_key} in full as import ${replayId}`
        : `replaying ${rows} rejected row(s) of import ${original.id} as import ${replayId}`,
  };
}

/** An open import whose execution is gone ends FAILED (then it can be replayed); one still running refuses the replay. */
async function endIfExecutionGone(deps: Deps, imp: ImportRow, probe: ExecutionProbe | undefined): Promise<ImportRow> {
  const state = probe ? await probe.state(imp.execution_name ?? imp.id) : "RUNNING";
  if (state === "RUNNING") {
    throw new ReplayRefusedError(
      `import ${imp.id} is still ${imp.status} (its execution is running): wait for it to end before replaying it`,
    );
  }
  const where = whereItStopped(imp);
  // The same guard as crash recovery: a recovery that took it over first wins (and the replay waits for it).
  if (!(await Lifecycle.recovering(deps.pool, imp.id, imp, `${imp.id}-replayed`))) {
    throw new ReplayRefusedError(
      `import ${imp.id} was just taken over by crash recovery: wait for it to end before replaying it`,
    );
  }
  await markFailed(deps, imp.id, {
    Error: "ExecutionLost",
    Cause: `its execution is gone (it stopped ${where}); replayed in full`,
  });
  return getImport(deps.pool, imp.id);
}

/** Rows of the original still rejected (not accepted by an earlier errors-only replay), by chunk. */
async function outstandingRejects(deps: Deps, importId: string): Promise<Map<number, number>> {
  const { rows } = await deps.pool.query<{ row_number: number; chunk_index: number }>(
    "SELECT DISTINCT row_number, chunk_index FROM import_rejects WHERE import_id = $1 AND resolved_by IS NULL ORDER BY 1",
    [importId],
  );
  return new Map(rows.map((r) => [Number(r.row_number), r.chunk_index]));
}

interface ReplayRows {
  lines: AsyncIterable<Buffer>;
  rows: number;
  alreadyResolved: number[];
}

const NUMBERED = /^(\d+)/;

function lineNumberOf(record: Buffer): number | undefined {
  const m = NUMBERED.exec(record.subarray(0, 24).toString("latin1"));
  return m ? Number(m[1]) : undefined;
}

/**
 * The rejected rows as the original file had them, taken from its chunk objects (which keep each
 * record's exact bytes and line number, in the chunk dialect), re-validated under the current
 * rules by the replay. Chunk objects expire (the bucket's staging/ lifecycle): then the records
 * stored with the rejects are used.
 */
async function storedRows(deps: Deps, original: ImportRow, outstanding: Map<number, number>): Promise<ReplayRows> {
  const spec = Sources.get(original.source ?? "")!;
  const dialect = chunkDialect(spec.reader);
  const d = dialect.delimiter;
  const { rows: chunks } = await deps.pool.query<{
    chunk_index: number;
    object_key: string;
    records: number;
    byte_range: ChunkRange | null;
  }>(
    "SELECT chunk_index, object_key, records, byte_range FROM import_chunks WHERE import_id = $1 ORDER BY chunk_index",
    [original.id],
  );
  const wanted = new Set(outstanding.keys());
  const withRejects = new Set(outstanding.values());
  const present: { chunk: ChunkRef; exists: boolean }[] = [];
  // Byte-range chunks all read the original object: it is there (or not) for all of them at once.
  const existing = new Map<string, boolean>();
  for (const c of chunks) {
    if (withRejects.has(c.chunk_index)) {
      // A byte-range chunk is there as long as the original object is (the same version: chunkText checks).
      const chunk: ChunkRef = {
        index: c.chunk_index,
        key: c.object_key,
        records: c.records,
        ...(c.byte_range ? { range: c.byte_range } : {}),
      };
      if (!existing.has(c.object_key)) existing.set(c.object_key, await exists(deps, original.bucket, c.object_key));
      present.push({ chunk, exists: existing.get(c.object_key)! });
    }
  }
  const header = await chunkHeader(
    deps,
    original,
    chunks.filter((c) => !c.byte_range).map((c) => c.object_key),
    dialect,
  );
  const expired = present.filter((p) => !p.exists).map((p) => p.chunk.index);
  const { rows: stored } = await deps.pool.query<{ row_number: number; raw_record: string | null }>(
    `SELECT DISTINCT ON (row_number) row_number, raw_record FROM import_rejects
      WHERE import_id = $1 AND chunk_index = ANY($2::int[]) AND resolved_by IS NULL ORDER BY row_number, raw_record NULLS LAST`,
    [original.id, expired],
  );
  const unrecorded = stored.filter((r) => r.raw_record === null).map((r) => Number(r.row_number));
  if (unrecorded.length > 0) {
    throw new ReplayRefusedError(
      `the chunk objects of import ${original.id} have expired and rows ${unrecorded.slice(0, 20).join(", ")} have no stored record: supply them with --file`,
    );
  }
  const fromStore = new Map(stored.map((r) => [Number(r.row_number), r.raw_record!]));
  async function* lines(): AsyncGenerator<Buffer> {
    yield Buffer.concat([header, Buffer.from("\n")]);
    for (const { chunk, exists } of present) {
      if (!exists) {
        const rows = [...fromStore].filter(([row]) => outstanding.get(row) === chunk.index);
        yield Buffer.from(rows.map(([row, raw]) => `${row}${d}${raw}\n`).join(""));
        continue;
      }
      const splitter = new RecordSplitter(dialect);
      const out: Buffer[] = [];
      let first = true;
      const sink = (record: Buffer) => {
        if (first) {
          first = false; // the chunk's header
          return;
        }
        const line = lineNumberOf(record);
        if (line !== undefined && wanted.has(line)) out.push(Buffer.from(record), Buffer.from("\n"));
      };
      if (chunk.range) {
        splitter.push(await chunkText(deps, original, chunk, dialect), sink);
      } else {
        for await (const part of await deps.store.read(original.bucket, chunk.key)) {
          splitter.push(part as Buffer, sink);
          if (out.length > 0) yield Buffer.concat(out.splice(0));
        }
      }
      splitter.end(sink);
      if (out.length > 0) yield Buffer.concat(out.splice(0));
    }
  }
  return { lines: lines(), rows: wanted.size, alreadyResolved: [] };
}

async function exists(deps: Deps, bucket: string, key: string): Promise<boolean> {
  try {
    await deps.store.head(bucket, key);
    return true;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/**
 * The header line of the import's chunk objects (`__source_line` and the columns, in the chunk
 * dialect) from any chunk object still there; once all expired, from the landed file when it is
 * delimited UTF-8 text with a header row (anything else cannot be rebuilt: replay in full).
 */
async function chunkHeader(
  deps: Deps,
  imp: ImportRow,
  chunkKeys: string[],
  dialect: ReturnType<typeof chunkDialect>,
): Promise<Buffer> {
  const firstRecord = async (key: string) => {
    const head = await deps.store.head(imp.bucket, key);
    const start = await deps.store.read(imp.bucket, key, { start: 0, end: Math.min(head.size, 1 << 20) - 1 });
    const parts: Buffer[] = [];
    for await (const part of start) parts.push(part as Buffer);
    return splitRecords(Buffer.concat(parts), dialect)[0]?.record;
  };
  for (const key of chunkKeys) {
    if (await exists(deps, imp.bucket, key)) return Buffer.from((await firstRecord(key))!);
  }
  const reader = Sources.get(imp.source ?? "")!.reader;
  if (reader.format === "csv" && reader.header !== false && reader.encoding === "utf-8") {
    const header = await firstRecord(imp.object_key);
    if (header)
      return Buffer.concat([
        Buffer.from(LINE_COLUMN + dialect.delimiter),
        Buffer.from(header.toString("utf8").replace(/^\uFEFF/, "")),
      ]);
  }
  throw new ReplayRefusedError(
    `the chunk objects of import ${imp.id} have expired and its header cannot be rebuilt from ${imp.file_name}: replay it with --mode full`,
  );
}

/**
 * Corrected rows supplied by the partner or the engineer. Every row must name a row of the
 * original that was rejected; rows an earlier replay already re-ingested are skipped, so the
 * same corrected file replayed twice changes nothing the second time.
 */
async function correctedRows(
  deps: Deps,
  original: ImportRow,
  outstanding: Map<number, number>,
  fixedKey: string,
): Promise<ReplayRows> {
  const spec = Sources.get(original.source ?? "")!;
  // Replay objects are delimited text in the chunk dialect (UTF-8), whatever the source's reader.
  const d = chunkDialect(spec.reader).delimiter;
  const { rows: rejected } = await deps.pool.query<{ row_number: number }>(
    "SELECT DISTINCT row_number FROM import_rejects WHERE import_id = $1",
    [original.id],
  );
  const everRejected = new Set(rejected.map((r) => Number(r.row_number)));
  const splitter = new RecordSplitter(chunkDialect(spec.reader));
  const kept: Buffer[] = [];
  const problems: string[] = [];
  const alreadyResolved: number[] = [];
  const seen = new Set<number>();
  let header: Buffer | undefined;
  let fileLine = 0;
  const sink = (record: Buffer, line: number) => {
    fileLine = line;
    if (!header) {
      const first = record
        .toString("utf8")
        .replace(/^\uFEFF/, "")
        .split(d, 1)[0]!
        .trim()
        .replace(/^"|"$/g, "")
        .toLowerCase();
      if (first !== "row_number" && first !== LINE_COLUMN) {
        throw new ReplayRefusedError(
          `${path.posix.basename(fixedKey)}: the first column must be row_number (the row of the original file each line corrects), found ${JSON.stringify(first)}`,
        );
      }
      header = Buffer.concat([Buffer.from(LINE_COLUMN + d), record.subarray(record.indexOf(d.charCodeAt(0)) + 1)]);
      return;
    }
    const row = lineNumberOf(record);
    if (row === undefined) problems.push(`line ${line}: no row number in the first column`);
    else if (seen.has(row)) problems.push(`line ${line}: row ${row} is corrected twice`);
    else if (!everRejected.has(row))
      problems.push(`line ${line}: row ${row} of ${original.file_name} was not rejected`);
    else if (!outstanding.has(row)) alreadyResolved.push(row);
    else kept.push(Buffer.from(record), Buffer.from("\n"));
    if (row !== undefined) seen.add(row);
  };
  for await (const part of await deps.store.read(original.bucket, fixedKey)) splitter.push(part as Buffer, sink);
  splitter.end(sink);
  if (!header) throw new ReplayRefusedError(`${path.posix.basename(fixedKey)} is empty`);
  if (problems.length > 0) {
    throw new ReplayRefusedError(
      `${path.posix.basename(fixedKey)} cannot be replayed (${problems.length} problem(s), ${fileLine} line(s)): ${problems.slice(0, 10).join("; ")}`,
    );
  }
  const rows = kept.length / 2;
  async function* lines(): AsyncGenerator<Buffer> {
    yield Buffer.concat([header!, Buffer.from("\n"), ...kept]);
  }
  return { lines: lines(), rows, alreadyResolved };
}
