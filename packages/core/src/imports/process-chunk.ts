import { parse } from "csv-parse/sync";
import type { Deps } from "../ports";
import { withTransaction } from "../db";
import { CopyBatches, copyLineOf, copyPrepared, copyRows, type CopyValue } from "../copy";
import { binaryRowsFor, CopyEncodeError, type BinaryRows } from "../copy-binary";
import { FileRejectedError, asRetryable } from "../errors";
import { allText, badBytes, printable } from "../csv/bytes";
import { maybeFail, maybeFailIn } from "../faults";
import { joinRecord, splitRecords } from "../csv/records";
import { chunkParseOptions, forEachRecord } from "../csv/fields";
import * as Sources from "../sources/index";
import { chunkDialect, fileColumns, type ChunkDialect, type SourceSpec, type StagedChunk } from "../sources/spec";
import { getImport } from "./repo";
import * as Lifecycle from "./lifecycle";
import { chunkText, type ChunkRef } from "./stage";

export interface ChunkCounts {
  rows_read: number;
  accepted: number;
  rejected: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface RowReject {
  row: number;
  type: "parse" | "validation" | "rule";
  field: string | null;
  value: string | null;
  message: string;
  raw: string | null;
}

interface ParsedChunk {
  /** Accepted rows as COPY text for the target's staging table (lineage columns first). */
  staged: CopyBatches;
  /** What promotion may know of them without asking. */
  summary: StagedChunk;
  rejects: RowReject[];
  rowsRead: number;
}

const LINE_PREFIX = /^(\d+)/;
/** The staging columns every row starts with (the `lineage` values), before the target's columns. */
const LINEAGE_COLUMNS = ["import_id", "chunk_index", "source_row", "src_seq", "partner"] as const;

/**
 * Parses one chunk object into typed rows and rejects. Fast path: forEachRecord over the chunk
 * (csv-parse's semantics, held to it by tests), each record validated as it is split. If the
 * body needs csv-parse, or the record count differs from what Stage cut, that work is dropped:
 * one csv-parse over the chunk, and if that fails too each record is parsed on its own, so a
 * broken one is rejected alone and the rest go on.
 *
 * The accepted rows are staged as COPY text, or with `binary` as binary COPY tuples; a value the
 * binary encoders do not take stages the whole chunk as text.
 */
export function parseChunk(
  spec: SourceSpec,
  chunk: Buffer | string,
  expectedRecords: number,
  lineage: (line: number) => CopyValue[],
  binary?: BinaryRows,
): ParsedChunk {
  const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
  const { body, rejects: screened } = screenChunk(
    bytes,
    chunkDialect(spec.reader),
    spec.reader.format === "csv" && spec.reader.strict === true,
  );
  const expected = expectedRecords - screened.length;
  if (!binary) return parseChunkAs(spec, body, expected, lineage, undefined, screened);
  try {
    return parseChunkAs(spec, body, expected, lineage, binary, screened);
  } catch (err) {
    if (!(err instanceof CopyEncodeError)) throw err;
    return parseChunkAs(spec, body, expected, lineage, undefined, screened);
  }
}

/**
 * A chunk's bytes as text, with the records that are not text (a NUL byte, bytes that are not
 * UTF-8) taken out and rejected with their lines: one bad record never fails its chunk, and
 * nothing is decoded with replacement characters. A whole chunk that is text (the rule) is
 * decoded at once; only a chunk with a bad byte is looked at record by record. For a `strict`
 * source a bad record refuses the file, naming its line.
 */
export function screenChunk(
  chunk: Buffer,
  dialect: ChunkDialect,
  strict: boolean,
): { body: string; rejects: RowReject[] } {
  if (allText(chunk)) return { body: chunk.toString("utf8"), rejects: [] };
  const kept: Buffer[] = [];
  const rejects: RowReject[] = [];
  const NL = Buffer.from("\n");
  let first = true;
  for (const { record } of splitRecords(chunk, dialect)) {
    const prefix = LINE_PREFIX.exec(record.subarray(0, 24).toString("latin1"));
    const row = first || !prefix ? 0 : Number(prefix[1]);
    const own = first || !prefix ? record : record.subarray(prefix[0].length + 1);
    const why = badBytes(own);
    if (why === undefined) {
      kept.push(record, NL);
    } else if (first) {
      throw new FileRejectedError(`the header row is not text: ${why}`);
    } else if (strict) {
      throw new FileRejectedError(`line ${row}: ${why} (the source is strict: one bad line refuses the file)`);
    } else {
      rejects.push({
        row,
        type: "parse",
        field: null,
        value: printable(own),
        message: `unreadable line: ${why}`,
        raw: null,
      });
    }
    first = false;
  }
  return { body: Buffer.concat(kept).toString("utf8"), rejects };
}

function parseChunkAs(
  spec: SourceSpec,
  body: string,
  expectedRecords: number,
  lineage: (line: number) => CopyValue[],
  binary: BinaryRows | undefined,
  screened: RowReject[],
): ParsedChunk {
  const dialect = chunkDialect(spec.reader);
  let rows = new ChunkRows(spec, dialect, lineage, binary);
  const fast = forEachRecord(body, dialect.delimiter, dialect.quote, (rec) => rows.take(rec));
  if (fast === expectedRecords + 1) return rows.result(screened);

  const opts = chunkParseOptions(dialect.delimiter, dialect.quote);
  let records: string[][] | undefined;
  try {
    records = parse(body, opts) as string[][];
    if (records.length !== expectedRecords + 1) records = undefined;
  } catch {
    records = undefined;
  }
  const broken: RowReject[] = [...screened];
  if (!records) {
    records = [];
    for (const { record, line: chunkLine } of splitRecords(Buffer.from(body, "utf8"), dialect)) {
      const text = record.toString("utf8");
      try {
        const one = parse(text, opts) as string[][];
        if (one.length !== 1) throw new Error(`${one.length} records in one line`);
        records.push(one[0]!);
      } catch (err) {
        if (chunkLine === 1) throw err;
        const m = LINE_PREFIX.exec(text);
        const row = m ? Number(m[1]) : 0;
        const raw = text.slice(m ? m[0].length + 1 : 0);
        broken.push({
          row,
          type: "parse",
          field: null,
          value: null,
          message: `unparsable line: ${(err as Error).message}`,
          raw,
        });
      }
    }
  }
  rows = new ChunkRows(spec, dialect, lineage, binary);
  for (const rec of records) rows.take(rec);
  return rows.result(broken);
}

/** A chunk's records, one at a time: the first is the header; each row is validated, staged or rejected. */
class ChunkRows {
  private readonly staged: CopyBatches;
  private readonly rejects: RowReject[] = [];
  private rowsRead = 0;
  /** Keys so far, kept in a list while they strictly increase (so are distinct: no hashing needed), in a set once they stop. */
  private readonly keyList: string[] = [];
  private keys: Set<string> | undefined;
  private lastKey: string | undefined;
  private readonly filled = new Set<string>();
  /** Target columns no staged row has had a value in yet (shrinks quickly to the always-empty ones). */
  private unfilled: string[];
  private header?: {
    width: number;
    mapped: { index: number; field: string }[];
    absent: string[];
    headerOf: Map<string, string>;
    validate: (cells: readonly string[]) => Record<string, unknown> | undefined;
  };
  constructor(
    private readonly spec: SourceSpec,
    private readonly dialect: ReturnType<typeof chunkDialect>,
    private readonly lineage: (line: number) => CopyValue[],
    private readonly binary: BinaryRows | undefined,
  ) {
    this.staged = new CopyBatches(binary !== undefined);
    this.unfilled = [...spec.target.columns];
  }

  private note(out: Record<string, unknown>): void {
    const key = this.spec.target.key;
    if (key) {
      const value = key.length === 1 ? String(out[key[0]!]) : key.map((k) => String(out[k])).join("\u0000");
      if (this.keys) {
        this.keys.add(value);
      } else if (this.lastKey === undefined || value > this.lastKey) {
        this.keyList.push(value);
        this.lastKey = value;
      } else {
        this.keys = new Set(this.keyList);
        this.keys.add(value);
      }
    }
    if (this.unfilled.length === 0) return;
    let still = 0;
    for (const column of this.unfilled) {
      if (out[column] !== null && out[column] !== undefined) this.filled.add(column);
      else this.unfilled[still++] = column;
    }
    this.unfilled.length = still;
  }

  take(rec: string[]): void {
    if (!this.header) {
      this.header = this.readHeader(rec);
      return;
    }
    const { width, mapped, absent, headerOf, validate } = this.header;
    const { delimiter, quote } = this.dialect;
    this.rowsRead++;
    const row = Number(rec[0]);
    if (rec.length !== width) {
      this.rejects.push({
        row,
        type: "parse",
        field: null,
        value: null,
        raw: joinRecord(rec.slice(1), delimiter, quote),
        message: `unparsable line: expected ${width - 1} fields, found ${rec.length - 1}`,
      });
      return;
    }
    const out = validate(rec);
    if (out) {
      const head = this.lineage(row);
      if (this.binary) this.binary.write(this.staged, head, out);
      else this.staged.add(copyLineOf(head, out, this.spec.target.columns));
      this.note(out);
      return;
    }
    const raw = joinRecord(rec.slice(1), delimiter, quote);
    const input: Record<string, string> = {};
    for (const field of absent) input[field] = "";
    for (const { index, field } of mapped) input[field] = rec[index]!;
    const result = this.spec.row.safeParse(input);
    const issues = result.success
      ? [{ path: [], message: "rejected by the compiled row rules but accepted by the schema (a bug)" }]
      : result.error.issues;
    for (const issue of issues) {
      const field = String(issue.path[0] ?? "");
      this.rejects.push({
        row,
        type: "validation",
        field: headerOf.get(field) ?? (field || null),
        value: field ? (input[field] ?? null) : null,
        message: issue.message,
        raw,
      });
    }
  }

  private readHeader(header: string[]) {
    const mapped = fileColumns(this.spec, header);
    const headerOf = new Map(mapped.map((m) => [m.field, m.header]));
    return {
      width: header.length,
      mapped,
      // Fields the file has no column for read as blank (compile does the same for valid rows).
      absent: this.spec.row.fields.filter((f) => !headerOf.has(f)),
      headerOf,
      validate: this.spec.row.compile(Object.fromEntries(mapped.map(({ index, field }) => [field, index]))),
    };
  }

  result(broken: RowReject[]): ParsedChunk {
    const rejects = [...broken, ...this.rejects].sort((a, b) => a.row - b.row);
    const rows = this.staged.rows;
    return {
      staged: this.staged,
      rejects,
      rowsRead: this.rowsRead + broken.length,
      summary: {
        rows,
        filled: this.filled,
        distinctKeys: !this.spec.target.key ? rows : this.keys ? this.keys.size : this.keyList.length,
        inKeyOrder: this.spec.target.key !== undefined && this.keys === undefined,
      },
    };
  }
}

/**
 * One Map iteration: parse and validate the chunk, then in ONE transaction replace its staged
 * rows and rejects, promote into core, and record its counts. A retry after a failure redoes
 * the whole transaction; a retry after success returns the recorded counts.
 */
export async function processChunk(
  deps: Deps,
  importId: string,
  chunk: ChunkRef,
): Promise<ChunkCounts & { importId: string; chunk: number }> {
  const { pool } = deps;
  const started = Date.now();
  try {
    const done = await pool.query<ChunkCounts & { status: string }>(
      "SELECT status, rows_read, accepted, rejected, inserted, updated, unchanged FROM import_chunks WHERE import_id = $1 AND chunk_index = $2",
      [importId, chunk.index],
    );
    if (done.rows[0]?.status === "DONE") {
      const { status: _s, ...counts } = done.rows[0];
      return { importId, chunk: chunk.index, ...counts };
    }
    const imp = await getImport(pool, importId);
    const spec = Sources.get(imp.source ?? "");
    if (!spec) throw new Error(`import ${importId} has no known source`);
    const phases: Record<string, number> = {};
    let mark = Date.now();
    const lap = (name: string) => {
      const now = Date.now();
      phases[name] = now - mark;
      mark = now;
    };
    const body = await chunkText(deps, imp, chunk, chunkDialect(spec.reader));
    lap("read");

    const base = BigInt(imp.lineage_seq ?? imp.seq) << 32n;
    const partner = imp.partner ?? spec.partner ?? "";
    const target = spec.target;
    const binary = await binaryRowsFor(pool, target.stagingTable, LINEAGE_COLUMNS, target.columns);
    // The lineage sequence as a number while it is exact (imports numbered below 2^21), else as BigInt text.
    const exact = base + (1n << 32n) <= BigInt(Number.MAX_SAFE_INTEGER);
    const baseNumber = Number(base);
    const seqOf = exact ? (line: number) => baseNumber + line : (line: number) => (base + BigInt(line)).toString();
    const parsed = parseChunk(
      spec,
      body,
      chunk.records,
      (line) => [importId, chunk.index, line, seqOf(line), partner],
      binary,
    );
    lap("parse");
    // Every record Stage cut is read here, as a row or a reject: none vanishes between the two.
    if (parsed.rowsRead !== chunk.records) {
      throw new Error(
        `chunk ${chunk.index}: ${parsed.rowsRead} rows read where Stage cut ${chunk.records} records (a bug)`,
      );
    }

    const counts = await withTransaction(pool, async (client) => {
      await client.query(`DELETE FROM ${target.stagingTable} WHERE import_id = $1 AND chunk_index = $2`, [
        importId,
        chunk.index,
      ]);
      await client.query("DELETE FROM import_rejects WHERE import_id = $1 AND chunk_index = $2", [
        importId,
        chunk.index,
      ]);
      await copyPrepared(
        client,
        target.stagingTable,
        [...LINEAGE_COLUMNS, ...target.columns],
        parsed.staged.done(),
        parsed.staged.binary,
      );
      lap("copy");
      await maybeFailIn("process-chunk.after-copy", client);
      const promoted = await target.promote(client, importId, chunk.index, parsed.summary);
      lap("promote");
      const ruleRejects: RowReject[] = promoted.rejects.map((r) => ({
        row: r.sourceRow,
        type: "rule",
        field: r.field,
        value: r.value,
        message: r.reason,
        raw: null,
      }));
      const rejects = [...parsed.rejects, ...ruleRejects];
      await copyRows(
        client,
        "import_rejects",
        [
          "import_id",
          "chunk_index",
          "row_number",
          "error_type",
          "field_name",
          "field_value",
          "error_message",
          "raw_record",
        ],
        rejects.map((r) => [importId, chunk.index, r.row, r.type, r.field, r.value, r.message, r.raw]),
      );
      const rejected = new Set(rejects.map((r) => r.row)).size;
      const accepted = parsed.rowsRead - rejected;
      const c: ChunkCounts = {
        rows_read: parsed.rowsRead,
        accepted,
        rejected,
        inserted: promoted.inserted,
        updated: promoted.updated,
        unchanged: accepted - promoted.inserted - promoted.updated,
      };
      maybeFail("process-chunk.before-commit");
      await Lifecycle.chunkDone(client, importId, chunk.index, c, {
        durationMs: Date.now() - started,
        stagedRows: parsed.summary.rows,
        distinctKeys: parsed.summary.distinctKeys,
      });
      return c;
    });
    lap("finish");
    deps.log.info("chunk processed", { importId, chunk: chunk.index, ...counts, ms: Date.now() - started, phases });
    return { importId, chunk: chunk.index, ...counts };
  } catch (err) {
    throw asRetryable(err, `processing chunk ${chunk.index}`);
  }
}
