/**
 * Splits delimited text into records without parsing fields: the Stage step uses it to cut a
 * file into chunks at record boundaries (a quoted field may contain newlines), and the chunk
 * processor uses it to isolate a broken record. A record ends at a line break outside quotes: LF,
 * CRLF or a lone CR (classic Mac files), in any mixture, so no ending hides records inside one
 * line. It follows the CSV quoting rules csv-parse
 * applies with `relax_quotes`: a quote opens a quoted field only at the start of a field,
 * `""` inside a quoted field is a literal quote. A quoted field that never closes would swallow
 * the rest of the file; past `maxQuotedBytes` the record is cut at the end of its first line
 * instead, so one bad line stays one bad row.
 */
const LF = 0x0a;
const CR = 0x0d;

export interface SplitOptions {
  delimiter?: string;
  /** The quote character (one byte); default '"'. */
  quote?: string;
  /** How far a quoted field may run before its record is treated as broken. */
  maxQuotedBytes?: number;
  /** A record (one line, unquoted) longer than this is an error: the file is not line-structured text. */
  maxRecordBytes?: number;
  /** The line the input starts on (default 1): for a piece of a larger file. */
  firstLine?: number;
}

/**
 * A record's bytes without its terminating newline, the 1-based line it starts on, and the offset
 * of its first byte in everything pushed so far.
 */
export type RecordSink = (record: Buffer, startLine: number, offset: number) => void;

export class RecordTooLongError extends Error {
  override readonly name = "RecordTooLongError";
}

export class RecordSplitter {
  private readonly delimiter: number;
  private readonly quote: number;
  private readonly maxQuoted: number;
  private readonly maxRecord: number;
  private pending: Buffer = Buffer.alloc(0);
  /** Line number of the first byte of `pending`. */
  private line: number;
  /** Offset of the first byte of `pending` in the input. */
  private base = 0;
  /**
   * The first quote at or after where it was last looked for in the buffer being scanned
   * (buf.length: none), or -1: not known. Without it a file with few quotes would have each
   * record's look-up run to the next quote, far ahead: quadratic in the records of a piece.
   */
  private nextQuote = -1;
  /** The same for the next LF and the next CR: a file with none of one kind is searched for it once. */
  private nextLF = -1;
  private nextCR = -1;
  /** Whether the record recordEnd last found opened a quoted field (only such a record can hold line breaks). */
  private quoted = false;

  constructor(options: SplitOptions = {}) {
    const d = options.delimiter ?? ",";
    if (Buffer.byteLength(d) !== 1) throw new Error(`delimiter must be one byte, got ${JSON.stringify(d)}`);
    this.delimiter = d.charCodeAt(0);
    const q = options.quote ?? '"';
    if (Buffer.byteLength(q) !== 1) throw new Error(`quote must be one byte, got ${JSON.stringify(q)}`);
    this.quote = q.charCodeAt(0);
    this.maxQuoted = options.maxQuotedBytes ?? 64 * 1024;
    this.maxRecord = options.maxRecordBytes ?? 16 * 1024 * 1024;
    this.line = options.firstLine ?? 1;
  }

  push(chunk: Buffer, sink: RecordSink): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const consumed = this.scan(buf, sink, false);
    this.base += consumed;
    this.pending = consumed === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(consumed));
    if (this.pending.length > this.maxRecord) {
      throw new RecordTooLongError(`a record starting on line ${this.line} is longer than ${this.maxRecord} bytes`);
    }
  }

  end(sink: RecordSink): void {
    if (this.pending.length > 0) this.base += this.scan(this.pending, sink, true);
    this.pending = Buffer.alloc(0);
  }

  /** Emits every complete record in `buf`; returns the offset of the first unconsumed byte. */
  private scan(buf: Buffer, sink: RecordSink, final: boolean): number {
    this.nextQuote = -1;
    this.nextLF = -1;
    this.nextCR = -1;
    let start = 0;
    while (start < buf.length) {
      const end = this.recordEnd(buf, start, final);
      if (end < 0) return start;
      let next = end + 1;
      if (end === buf.length) next = end;
      else if (buf[end] === CR) {
        // A CR at the end of what has arrived may be the first half of a CRLF.
        if (end + 1 === buf.length && !final) return start;
        if (buf[end + 1] === LF) next = end + 2;
      }
      const record = buf.subarray(start, end);
      const startLine = this.line;
      this.line += (this.quoted ? countLines(record) : 0) + (end === buf.length ? 0 : 1);
      if (!isBlank(record)) sink(record, startLine, this.base + start);
      start = next;
    }
    return start;
  }

  /** The first line break (CR or LF) at or after `pos`, or -1. */
  private lineBreak(buf: Buffer, pos: number): number {
    if (this.nextLF < pos) {
      const found = buf.indexOf(LF, pos);
      this.nextLF = found < 0 ? buf.length : found;
    }
    if (this.nextCR < pos) {
      const found = buf.indexOf(CR, pos);
      this.nextCR = found < 0 ? buf.length : found;
    }
    const first = Math.min(this.nextLF, this.nextCR);
    return first === buf.length ? -1 : first;
  }

  /**
   * Offset of the line break (CR or LF) that ends the record starting at `start` (or buf.length
   * at the end of the final input); -1 when more input is needed.
   */
  private recordEnd(buf: Buffer, start: number, final: boolean): number {
    let pos = start;
    let fieldStart = true;
    let inQuotes = false;
    let quoteOpenedAt = -1;
    this.quoted = false;
    while (pos < buf.length) {
      if (!inQuotes) {
        const nl = this.lineBreak(buf, pos);
        if (this.nextQuote < pos) {
          const found = buf.indexOf(this.quote, pos);
          this.nextQuote = found < 0 ? buf.length : found;
        }
        const q = this.nextQuote === buf.length ? -1 : this.nextQuote;
        if (q < 0 || (nl >= 0 && nl < q)) {
          // No quote before the end of this line: the record ends here.
          if (nl >= 0) return nl;
          return final ? buf.length : -1;
        }
        // A quote before the line end: it opens a field only at a field start.
        const prev = q === start ? -1 : buf[q - 1];
        fieldStart = q === start || prev === this.delimiter || prev === LF || prev === CR;
        if (fieldStart) {
          inQuotes = true;
          this.quoted = true;
          quoteOpenedAt = q;
        }
        pos = q + 1;
      } else {
        const q = buf.indexOf(this.quote, pos);
        const limit = quoteOpenedAt + this.maxQuoted;
        if (q < 0 || q > limit) {
          if (buf.length > limit || final) {
            // Never closed within bounds: the record is just its first line.
            const lf = buf.indexOf(LF, start);
            const cr = buf.indexOf(CR, start);
            const nl = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
            return nl >= 0 ? nl : buf.length;
          }
          return -1;
        }
        if (buf[q + 1] === this.quote) {
          pos = q + 2;
          continue;
        }
        if (q + 1 >= buf.length && !final) return -1;
        inQuotes = false;
        pos = q + 1;
      }
    }
    return final ? buf.length : -1;
  }
}

/** Line breaks inside a record (in its quoted fields): LF, CRLF and a lone CR count one each. */
function countLines(record: Buffer): number {
  let n = 0;
  for (let i = record.indexOf(LF); i >= 0; i = record.indexOf(LF, i + 1)) n++;
  for (let i = record.indexOf(CR); i >= 0; i = record.indexOf(CR, i + 1)) if (record[i + 1] !== LF) n++;
  return n;
}

function isBlank(record: Buffer): boolean {
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/** Splits a whole buffer (tests, fallback parsing of one chunk). */
export function splitRecords(buf: Buffer, options?: SplitOptions): { record: Buffer; line: number }[] {
  const out: { record: Buffer; line: number }[] = [];
  const s = new RecordSplitter(options);
  const sink: RecordSink = (record, line) => out.push({ record, line });
  s.push(buf, sink);
  s.end(sink);
  return out;
}

/**
 * Parsed fields back to one record of the same dialect, quoted only where the quoting rules need
 * it (a delimiter, a quote or a line break in the field), so parsing it again gives the same
 * fields. Stored rejected rows are kept this way.
 */
export function joinRecord(fields: readonly string[], delimiter: string, quote = '"'): string {
  let out = "";
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const quoted = f.includes(delimiter) || f.includes(quote) || f.includes("\n") || f.includes("\r");
    out += (i === 0 ? "" : delimiter) + (quoted ? quote + f.replaceAll(quote, quote + quote) + quote : f);
  }
  return out;
}
