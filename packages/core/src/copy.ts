import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { Readable } from "node:stream";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import pg from "pg";
import type { PoolClient } from "./db";

/** The signature, flags and header extension that open binary COPY data, and the trailer that closes it. */
export const BINARY_HEADER = Buffer.from("PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0", "latin1");
export const BINARY_TRAILER = Buffer.from("\xff\xff", "latin1");

export type CopyValue = string | number | boolean | null | undefined;

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One value in PostgreSQL's COPY text format. */
export function copyValue(v: CopyValue): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v !== "string") return String(v);
  return NEEDS_ESCAPE.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : v;
}

/** One row as a line of COPY text, newline included. */
export function copyLine(row: readonly CopyValue[]): string {
  let line = "";
  for (let i = 0; i < row.length; i++) line += (i === 0 ? "" : "\t") + copyValue(row[i]);
  return line + "\n";
}

/** A COPY line of `head` followed by `record`'s `columns`, newline included (no row array in between). */
export function copyLineOf(
  head: readonly CopyValue[],
  record: Readonly<Record<string, unknown>>,
  columns: readonly string[],
): string {
  let line = "";
  for (let i = 0; i < head.length; i++) line += (i === 0 ? "" : "\t") + copyValue(head[i]);
  for (let i = 0; i < columns.length; i++) line += "\t" + copyValue(record[columns[i]!] as CopyValue);
  return line + "\n";
}

/**
 * Collects COPY lines as bytes in ~1 MB buffers. Bytes, not a growing string: a string built
 * with += is a rope that keeps every piece of every line alive (and the GC busy) until it is
 * sent; encoding each line as it comes lets the pieces die young. Text lines are written as
 * UTF-8 (`add`). With `binary`, BinaryRows writes binary COPY tuples straight into the buffers
 * (`room`, `buf`, `used`), between the format's header and trailer. The stream may be cut
 * anywhere between buffers: PostgreSQL reads the COPY data as one stream.
 */
export class CopyBatches {
  readonly batches: Buffer[] = [];
  rows = 0;
  /** The buffer being filled, and how much of it is. */
  buf = Buffer.allocUnsafe(BATCH_BYTES);
  used = 0;
  private sealed = false;

  constructor(readonly binary = false) {
    if (binary) this.used = BINARY_HEADER.copy(this.buf, 0);
  }

  add(line: string): void {
    this.room(line.length * 3);
    this.used += this.buf.write(line, this.used, "utf8");
    this.rows++;
  }

  /** Makes room for `bytes` more in `buf` at `used`. */
  room(bytes: number): void {
    if (this.used + bytes > this.buf.length) {
      this.seal();
      if (bytes > this.buf.length) this.buf = Buffer.allocUnsafe(bytes);
    }
  }

  done(): Buffer[] {
    if (this.binary && !this.sealed) {
      this.room(BINARY_TRAILER.length);
      this.used += BINARY_TRAILER.copy(this.buf, this.used);
      this.sealed = true;
    }
    this.seal();
    return this.batches;
  }

  private seal(): void {
    if (this.used === 0) return;
    this.batches.push(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
  }
}
const BATCH_BYTES = 1 << 20;

/** Streams prepared COPY data (see CopyBatches; text, or binary with `binary`) into `table` with COPY FROM STDIN. */
export async function copyPrepared(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  batches: Iterable<Buffer | string>,
  binary = false,
): Promise<void> {
  const sql = `COPY ${table} (${columns.join(", ")}) FROM STDIN${binary ? " (FORMAT binary)" : ""}`;
  await pipeline(Readable.from(batches), client.query(copyFrom(sql)));
}

/** Streams rows into `table` with COPY FROM STDIN (text format), in ~1 MB writes. */
export async function copyRows(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]>,
): Promise<void> {
  function* lines(): Generator<Buffer> {
    const out = new CopyBatches();
    // Lines gathered into ~16k-character strings, each encoded with one write (a write per line was ~40% of
    // encoding 80k short lines); a chunk this small is flattened young.
    let chunk = "";
    for (const row of rows) {
      chunk += copyLine(row);
      if (chunk.length < CHUNK_CHARS) continue;
      out.add(chunk);
      chunk = "";
      if (out.batches.length > 0) yield* out.batches.splice(0);
    }
    if (chunk.length > 0) out.add(chunk);
    yield* out.done();
  }
  await copyPrepared(client, table, columns, lines());
}

const CHUNK_CHARS = 16_384;

const UNESCAPES: Record<string, string> = { "\\": "\\", n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v" };

/** One value of PostgreSQL's COPY text format back to a string (the inverse of copyText). */
export function fromCopyText(field: string): string | null {
  if (field === "\\N") return null;
  return field.includes("\\") ? field.replace(/\\(.)/g, (_m, c: string) => UNESCAPES[c] ?? c) : field;
}

/** One line of PostgreSQL's COPY text format (no newline) back to its fields. */
export function fromCopyLine(line: string): (string | null)[] {
  const fields: (string | null)[] = line.split("\t");
  for (let i = 0; i < fields.length; i++) fields[i] = fromCopyText(fields[i]!);
  return fields;
}

/**
 * Streams the rows of a query with COPY ... TO STDOUT (text format): memory stays bounded
 * whatever the number of rows. The query cannot take parameters (COPY does not), so callers
 * inline only values they have validated.
 */
export async function* copyOut(client: PoolClient, query: string): AsyncGenerator<(string | null)[]> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`));
  // A chunk may end inside a multi-byte character: decode across chunk boundaries.
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const part of stream) {
    const text = rest + decoder.write(part as Buffer);
    const lines = text.split("\n");
    rest = lines.pop()!;
    for (const line of lines) yield fromCopyLine(line);
  }
  rest += decoder.end();
  if (rest) yield fromCopyLine(rest);
}

/** A whole answer as rows of values in column order, each value as node-postgres gives it. */
export interface CopiedTable {
  fields: string[];
  rows: unknown[][];
  /** True when the statement had more rows than `limit`. */
  more: boolean;
}

/**
 * The rows of a query without parameters as arrays of values, read as one COPY ... TO STDOUT
 * text: split here, each field turned into its value by the type parser node-postgres would use
 * (so every value is the one a query gives). The types come from the statement planned with
 * LIMIT 0. The whole answer is held in memory; `limit` (0: none) keeps its first rows.
 * `guard` wraps each round trip (AdhocSql: the statement's deadline).
 */
export async function copyTable(
  client: pg.ClientBase,
  query: string,
  limit: number,
  guard: <T>(work: Promise<T>) => Promise<T> = (work) => work,
): Promise<CopiedTable> {
  const described = await guard(client.query(`SELECT * FROM (${query}) AS q LIMIT 0`));
  const parsers = described.fields.map((f) => pg.types.getTypeParser(f.dataTypeID, "text"));
  const chunks: Buffer[] = [];
  const copied = client.query(copyTo(`COPY (${query}) TO STDOUT`));
  await guard(
    new Promise<void>((resolve, reject) => {
      copied.on("data", (chunk: Buffer) => chunks.push(chunk));
      copied.on("end", resolve);
      copied.on("error", reject);
    }),
  );
  // one decode of the whole text: no character is cut between chunks
  const lines = Buffer.concat(chunks).toString("utf8").split("\n");
  lines.pop(); // the text ends with a newline
  const kept = limit > 0 ? Math.min(limit, lines.length) : lines.length;
  const rows: unknown[][] = new Array(kept);
  for (let i = 0; i < kept; i++) {
    const cells: unknown[] = fromCopyLine(lines[i]!);
    if (cells.length !== parsers.length)
      throw new Error(`COPY gave ${cells.length} fields in row ${i + 1}, the statement has ${parsers.length}`);
    for (let c = 0; c < cells.length; c++) if (cells[c] !== null) cells[c] = parsers[c]!(cells[c] as string);
    rows[i] = cells;
  }
  return { fields: described.fields.map((f) => f.name), rows, more: lines.length > kept };
}
