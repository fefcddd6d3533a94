import type { Deps } from "../ports";
import { FileRejectedError, asRetryable, isTransient } from "../errors";
import { RecordSplitter, RecordTooLongError, type RecordSink } from "../csv/records";
import { badBytes } from "../csv/bytes";
import * as Sources from "../sources/index";
import { chunkDialect, fileColumns, replayReader, type CsvReader, type Reader } from "../sources/spec";
import { SharedStringsTooLargeError, readSheetRows } from "../xlsx/read";
import { getImport, type ImportRow } from "./repo";
import * as Lifecycle from "./lifecycle";
import { readAll } from "./streams";

export interface ChunkRef {
  index: number;
  /** The chunk object, or (with `range`) the original object. */
  key: string;
  records: number;
  /** Set when the chunk is a byte range of the original object rather than an object of its own. */
  range?: ChunkRange;
}

/**
 * Where a chunk's records are in the original object. UTF-8 delimited text needs no rewriting,
 * so Stage only finds where every chunk's first record starts and leaves the bytes where they are:
 * no copy of the file is written, and each chunk reads just its range.
 */
export interface ChunkRange {
  /** The chunk's records: bytes [start, end) of the object. */
  start: number;
  end: number;
  /** The header record: bytes [headerStart, headerEnd). */
  headerStart: number;
  headerEnd: number;
  /** The line of the original file its first record starts on. */
  line: number;
}

/** First column of every chunk object: the record's line number in the original file. */
export const LINE_COLUMN = "__source_line";

export function chunkKey(importId: string, index: number): string {
  return `staging/${importId}/chunk-${String(index).padStart(5, "0")}.csv`;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Cells of a spreadsheet row as one record of the chunk dialect (plain CSV). */
function csvRecord(cells: readonly string[]): Buffer {
  return Buffer.from(cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(","));
}

/**
 * Collects records into chunk objects of at most `chunkRows` records: the header repeated, every
 * record prefixed with its line (or sheet row) in the original file. At most two uploads are in
 * flight, so reading goes on while one is written and memory stays bounded.
 */
class ChunkWriter {
  readonly chunks: ChunkRef[] = [];
  private header: Buffer | undefined;
  private parts: Buffer[] = [];
  private count = 0;
  private readonly sealed: { ref: ChunkRef; body: Buffer }[] = [];
  private readonly inFlight: Promise<void>[] = [];
  private readonly lead: Buffer;

  /** `numbered`: the records already start with their line in the original file (an errors-only replay's object). */
  constructor(
    private readonly deps: Deps,
    private readonly bucket: string,
    private readonly importId: string,
    private readonly delimiter: string,
    private readonly numbered = false,
    header?: Buffer,
  ) {
    this.lead = Buffer.from(`${LINE_COLUMN}${delimiter}`);
    this.header = header;
  }

  /** The first record is the header; the rest are data. */
  add = (record: Buffer, line: number): void => {
    if (!this.header) {
      if (this.numbered && !record.subarray(0, this.lead.length).equals(this.lead)) {
        throw new FileRejectedError(`a replay's rows must start with the ${LINE_COLUMN} column`);
      }
      this.header = this.numbered ? record.subarray(this.lead.length) : record;
      return;
    }
    if (this.count === 0) this.parts.push(this.lead, this.header, NL);
    if (this.numbered) this.parts.push(record, NL);
    else this.parts.push(Buffer.from(`${line}${this.delimiter}`), record, NL);
    if (++this.count >= this.deps.settings.chunkRows) this.seal();
  };

  private seal(): void {
    if (this.count === 0) return;
    const ref: ChunkRef = {
      index: this.chunks.length,
      key: chunkKey(this.importId, this.chunks.length),
      records: this.count,
    };
    this.chunks.push(ref);
    this.sealed.push({ ref, body: Buffer.concat(this.parts) });
    this.parts = [];
    this.count = 0;
  }

  async flush(): Promise<void> {
    for (let next = this.sealed.shift(); next; next = this.sealed.shift()) {
      this.inFlight.push(this.deps.store.write(this.bucket, next.ref.key, next.body, "text/csv"));
      if (this.inFlight.length >= 2) await this.inFlight.shift();
    }
  }

  async end(): Promise<ChunkRef[]> {
    this.seal();
    await this.flush();
    await Promise.all(this.inFlight);
    return this.chunks;
  }
}
const NL = Buffer.from("\n");

/** Finds where every chunk of `chunkRows` records starts (the first record is the header), without keeping any bytes. */
class ChunkPlanner {
  private header: { start: number; end: number } | undefined;
  private readonly starts: { offset: number; line: number }[] = [];
  private count = 0;
  /** `base`: the offset in the object of the first byte given to the splitter (after a byte-order mark). */
  constructor(
    private readonly chunkRows: number,
    private readonly key: string,
    private readonly base: number,
  ) {}

  add = (record: Buffer, line: number, offset: number): void => {
    if (!this.header) {
      this.header = { start: this.base + offset, end: this.base + offset + record.length };
      return;
    }
    if (this.count % this.chunkRows === 0) this.starts.push({ offset: this.base + offset, line });
    this.count++;
  };

  end(objectSize: number): ChunkRef[] {
    const header = this.header;
    if (!header) return [];
    return this.starts.map((s, index) => ({
      index,
      key: this.key,
      records: Math.min(this.chunkRows, this.count - index * this.chunkRows),
      range: {
        start: s.offset,
        end: this.starts[index + 1]?.offset ?? objectSize,
        headerStart: header.start,
        headerEnd: header.end,
        line: s.line,
      },
    }));
  }
}

/**
 * A chunk as ProcessChunk parses it (and a replay reads it): the header after the LINE_COLUMN
 * column, then every record prefixed with its line in the original file. A chunk object is that
 * text already; a byte range of the original object is read (that object version only) and
 * numbered here the same way, so both kinds of chunk are one path from here on.
 */
export async function chunkText(
  deps: Deps,
  imp: ImportRow,
  chunk: ChunkRef,
  dialect: ReturnType<typeof chunkDialect>,
): Promise<Buffer> {
  const { store } = deps;
  const r = chunk.range;
  if (!r) return readAll(await store.read(imp.bucket, chunk.key));
  const version = { ifMatch: imp.etag ?? undefined };
  const [header, body] = await Promise.all([
    store.read(imp.bucket, chunk.key, { start: r.headerStart, end: r.headerEnd - 1 }, version).then(readAll),
    store.read(imp.bucket, chunk.key, { start: r.start, end: r.end - 1 }, version).then(readAll),
  ]);
  const parts: Buffer[] = [Buffer.from(`${LINE_COLUMN}${dialect.delimiter}`), header, NL];
  let records = 0;
  const number = (record: Buffer, line: number) => {
    parts.push(Buffer.from(`${line}${dialect.delimiter}`), record, NL);
    records++;
  };
  const splitter = new RecordSplitter({ ...dialect, firstLine: r.line });
  splitter.push(body, number);
  splitter.end(number);
  if (records !== chunk.records) {
    throw new FileRejectedError(
      `chunk ${chunk.index}: ${records} records in bytes ${r.start}-${r.end} of ${chunk.key} where Stage found ${chunk.records}: the file changed while it was being imported`,
    );
  }
  return Buffer.concat(parts);
}

/**
 * Checks records on their way to `sink`: the header (when the file has one) must be text, and for a
 * strict reader every record must be (see csv/bytes.ts), so such a file is refused, naming the
 * line, before any row lands. Other readers' bad lines are rejected one by one by the chunk step.
 */
function textChecked(sink: RecordSink, reader: CsvReader): RecordSink {
  let header = reader.header !== false;
  if (!header && !reader.strict) return sink;
  return (record, line, offset) => {
    if (header || reader.strict) {
      const why = badBytes(record);
      if (why !== undefined) {
        throw new FileRejectedError(
          header
            ? `the header row is not text: ${why}`
            : `line ${line}: ${why} (the source is strict: one bad line refuses the file)`,
        );
      }
      header = false;
    }
    sink(record, line, offset);
  };
}

/** Whether Stage can leave a source's files where they are and hand out byte ranges: UTF-8 delimited text with a header row. */
export function servedInPlace(reader: Reader): reader is CsvReader {
  return reader.format === "csv" && reader.encoding === "utf-8" && reader.header !== false;
}

/**
 * Plans byte-range chunks of UTF-8 delimited text as the object's bytes go by, writing nothing.
 * Stage runs one over the object; Checksum runs one beside its hash, so Stage need not read the
 * object a second time.
 */
export class RangePlanner {
  private readonly splitter: RecordSplitter;
  private planner: ChunkPlanner | undefined;
  private sink: RecordSink | undefined;
  private size = 0;

  constructor(
    private readonly reader: CsvReader,
    private readonly chunkRows: number,
    private readonly key: string,
  ) {
    this.splitter = new RecordSplitter(chunkDialect(reader));
  }

  push(raw: Buffer): void {
    let part = raw;
    if (!this.planner) {
      const bom = part.subarray(0, 3).equals(UTF8_BOM) ? 3 : 0;
      this.planner = new ChunkPlanner(this.chunkRows, this.key, bom);
      this.sink = textChecked(this.planner.add, this.reader);
      part = part.subarray(bom);
      this.size += bom;
    }
    this.size += part.length;
    this.splitter.push(part, this.sink!);
  }

  end(): ChunkRef[] {
    if (!this.planner) return [];
    this.splitter.end(this.sink!);
    return this.planner.end(this.size);
  }
}

/** Plans byte-range chunks of UTF-8 delimited text: one pass over the object that writes nothing. */
async function planRanges(
  input: AsyncIterable<unknown>,
  reader: CsvReader,
  chunkRows: number,
  key: string,
): Promise<ChunkRef[]> {
  const planner = new RangePlanner(reader, chunkRows, key);
  for await (const raw of input) planner.push(raw as Buffer);
  return planner.end();
}

/** Delimited text: records cut at record boundaries without parsing fields; Windows-1252 becomes UTF-8 here. */
async function readCsv(input: AsyncIterable<unknown>, reader: CsvReader, out: ChunkWriter): Promise<void> {
  const splitter = new RecordSplitter(chunkDialect(reader));
  // Windows-1252 is one byte a character: each part transcodes on its own.
  const cp1252 = reader.encoding === "windows-1252" ? new TextDecoder("windows-1252") : undefined;
  const add = textChecked(out.add, reader);
  let first = true;
  for await (const raw of input) {
    let part = raw as Buffer;
    if (first) {
      first = false;
      if (part.subarray(0, 3).equals(UTF8_BOM)) part = part.subarray(3);
    }
    if (cp1252) part = Buffer.from(cp1252.decode(part), "utf8");
    splitter.push(part, add);
    await out.flush();
  }
  splitter.end(add);
}

/**
 * Cuts the file into chunk objects of at most `chunkRows` records, streaming (memory stays flat
 * whatever the file size), in the chunk dialect of its reader (see chunkDialect): every format
 * leaves Stage as the same UTF-8 delimited text, so ProcessChunk is one path. Each chunk repeats
 * the header and prefixes every record with its line number in the original file (the sheet row
 * for a workbook), so a chunk can be processed, retried or replayed on its own and still report
 * true row numbers.
 */
export async function stage(deps: Deps, importId: string): Promise<{ importId: string; chunks: ChunkRef[] }> {
  const { pool, store } = deps;
  const imp = await getImport(pool, importId);
  const spec = Sources.get(imp.source ?? "");
  if (!spec) throw new FileRejectedError(`unknown source ${imp.source}`);
  await Lifecycle.stepStarted(pool, importId, "stage");
  const dialect = chunkDialect(spec.reader);
  // An errors-only replay's object already numbers its records with their lines in the original
  // file, and is UTF-8 text in the chunk dialect whatever the source's reader (see replay.ts).
  const numbered = imp.replay_mode === "errors-only";
  // A headerless file gets the spec's field names as its header, so every chunk reads the same way.
  const headerless = spec.reader.format === "csv" && spec.reader.header === false && !numbered;
  // Only the files Stage rewrites (workbooks, other encodings, headerless files, replays) get chunk objects.
  const writer = () =>
    new ChunkWriter(
      deps,
      imp.bucket,
      importId,
      dialect.delimiter,
      numbered,
      headerless ? Buffer.from(Object.keys(spec.columns).join(dialect.delimiter)) : undefined,
    );
  let chunks: ChunkRef[];
  try {
    const read = () => store.read(imp.bucket, imp.object_key, undefined, { ifMatch: imp.etag ?? undefined });
    if (!numbered && servedInPlace(spec.reader)) {
      // Checksum planned the ranges as it hashed the same object version (unless the bytes were not line-structured text).
      chunks =
        imp.planned_chunks ?? (await planRanges(await read(), spec.reader, deps.settings.chunkRows, imp.object_key));
    } else if (spec.reader.format === "xlsx" && !numbered) {
      const out = writer();
      let width = -1;
      await readSheetRows(
        await read(),
        async (cells, row) => {
          if (width < 0) {
            fileColumns(spec, cells);
            width = cells.length;
          }
          // A sheet row ends at its last non-empty cell: the blank cells after it are still the header's columns.
          while (cells.length < width) cells.push("");
          out.add(csvRecord(cells), row);
          await out.flush();
        },
        { maxSharedStringBytes: deps.settings.maxSharedStringBytes },
      );
      chunks = await out.end();
    } else {
      const out = writer();
      await readCsv(
        await read(),
        numbered || spec.reader.format !== "csv" ? replayReader(spec.reader) : spec.reader,
        out,
      );
      chunks = await out.end();
    }
  } catch (err) {
    if (err instanceof FileRejectedError) throw err;
    if (err instanceof RecordTooLongError)
      throw new FileRejectedError(`not a line-structured text file: ${err.message}`);
    if (err instanceof SharedStringsTooLargeError)
      throw new FileRejectedError(`XLSX workbook rejected: ${err.message}`);
    if (spec.reader.format === "xlsx" && !numbered && !isTransient(err)) {
      throw new FileRejectedError(`corrupt XLSX workbook: ${(err as Error).message}`, { cause: err });
    }
    throw asRetryable(err, "staging chunks");
  }

  await Lifecycle.staged(pool, importId, chunks);
  await Lifecycle.stepFinished(pool, importId, "stage");
  await Lifecycle.stepStarted(pool, importId, "process");
  return { importId, chunks };
}
