import type { Deps } from "../ports";
import { FileRejectedError, asRetryable } from "../errors";
import { RecordSplitter, RecordTooLongError } from "../csv/records";
import * as Sources from "../sources/index";
import { getImport, stepFinished, stepStarted } from "./repo";

export interface ChunkRef {
  index: number;
  key: string;
  records: number;
}

/** First column of every chunk object: the record's line number in the original file. */
export const LINE_COLUMN = "__source_line";

export function chunkKey(importId: string, index: number): string {
  return `staging/${importId}/chunk-${String(index).padStart(5, "0")}.csv`;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Cuts the file into chunk objects of at most `chunkRows` records, at record boundaries,
 * streaming (memory stays flat whatever the file size). Each chunk repeats the header and
 * prefixes every record with its line number in the original file, so a chunk can be
 * processed, retried or replayed on its own and still report true row numbers.
 */
export async function stage(deps: Deps, importId: string): Promise<{ importId: string; chunks: ChunkRef[] }> {
  const { pool, store, settings } = deps;
  const imp = await getImport(pool, importId);
  const spec = Sources.get(imp.source ?? "");
  if (!spec) throw new FileRejectedError(`unknown source ${imp.source}`);
  await stepStarted(pool, importId, "stage");
  const d = spec.reader.delimiter;
  const splitter = new RecordSplitter({ delimiter: d });
  const chunks: ChunkRef[] = [];
  const sealed: { ref: ChunkRef; body: Buffer }[] = [];
  // A headerless file gets the spec's field names as its header, so every chunk reads the same way.
  let header: Buffer | undefined = spec.reader.header === false ? Buffer.from(Object.keys(spec.columns).join(d)) : undefined;
  let parts: Buffer[] = [];
  let count = 0;
  const inFlight: Promise<void>[] = [];

  const seal = () => {
    if (count === 0) return;
    const ref: ChunkRef = { index: chunks.length, key: chunkKey(importId, chunks.length), records: count };
    chunks.push(ref);
    sealed.push({ ref, body: Buffer.concat(parts) });
    parts = [];
    count = 0;
  };

  const upload = async () => {
    for (let next = sealed.shift(); next; next = sealed.shift()) {
      inFlight.push(store.write(imp.bucket, next.ref.key, next.body, "text/csv"));
      // At most two chunk uploads in flight: reading goes on while one is written, memory stays bounded.
      if (inFlight.length >= 2) await inFlight.shift();
    }
  };

  // An errors-only replay's object already numbers its records with their lines in the original file.
  const numbered = imp.replay_mode === "errors-only";
  const onRecord = (record: Buffer, line: number) => {
    if (!header) {
      if (numbered && !record.subarray(0, LINE_COLUMN.length + 1).equals(Buffer.from(`${LINE_COLUMN}${d}`))) {
        throw new FileRejectedError(`a replay's rows must start with the ${LINE_COLUMN} column`);
      }
      header = numbered ? record.subarray(LINE_COLUMN.length + 1) : record;
      return;
    }
    if (count === 0) parts.push(Buffer.from(`${LINE_COLUMN}${d}`), header, Buffer.from("\n"));
    parts.push(...(numbered ? [record] : [Buffer.from(`${line}${d}`), record]), Buffer.from("\n"));
    if (++count >= settings.chunkRows) seal();
  };

  try {
    let first = true;
    for await (const raw of await store.read(imp.bucket, imp.object_key)) {
      let part = raw as Buffer;
      if (first) {
        first = false;
        if (part.subarray(0, 3).equals(UTF8_BOM)) part = part.subarray(3);
      }
      splitter.push(part, onRecord);
      await upload();
    }
    splitter.end(onRecord);
    seal();
    await upload();
    await Promise.all(inFlight);
  } catch (err) {
    if (err instanceof RecordTooLongError) throw new FileRejectedError(`not a line-structured text file: ${err.message}`);
    throw asRetryable(err, "staging chunks");
  }

  await pool.query("DELETE FROM import_chunks WHERE import_id = $1 AND chunk_index >= $2 AND status <> 'DONE'", [importId, chunks.length]);
  if (chunks.length > 0) {
    await pool.query(
      `INSERT INTO import_chunks (import_id, chunk_index, object_key, line_offset, records)
       SELECT $1, c.index, c.key, 0, c.records FROM jsonb_to_recordset($2::jsonb) AS c(index int, key text, records int)
       ON CONFLICT (import_id, chunk_index) DO UPDATE SET object_key = excluded.object_key, records = excluded.records`,
      [importId, JSON.stringify(chunks)]);
  }
  await pool.query("UPDATE imports SET chunks_total = $2, status = 'PROCESSING' WHERE id = $1", [importId, chunks.length]);
  await stepFinished(pool, importId, "stage");
  await stepStarted(pool, importId, "process");
  return { importId, chunks };
}
