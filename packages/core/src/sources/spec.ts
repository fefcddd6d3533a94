import type { RowSchema } from "./fields";
import type { PoolClient } from "../db";
import { FileRejectedError } from "../errors";

/** A delimited text file. A UTF-8 BOM is always tolerated; Windows-1252 is transcoded to UTF-8 while staging. */
export interface CsvReader {
  format: "csv";
  /** One byte: ",", ";", "|", "\t". */
  delimiter: string;
  /** One byte that encloses a field holding delimiters, newlines or itself (doubled). Default '"'. */
  quote?: string;
  encoding: "utf-8" | "windows-1252";
  /** false: the file has no header row; its fields are the keys of `columns`, in order. Default true. */
  header?: boolean;
  /**
   * true: a line that is not text (a NUL byte; bytes that are not UTF-8) refuses the whole file,
   * naming the line, before any row lands. Default false: that line alone is rejected, with its
   * line number, and the rest of the file goes on. For files that are all or nothing.
   */
  strict?: boolean;
}

/** An Excel workbook (.xlsx), read as a stream; the first worksheet's first non-empty row is the header. */
export interface XlsxReader {
  format: "xlsx";
}

export type Reader = CsvReader | XlsxReader;

/** The delimited text of the chunk objects Stage writes for a reader: CSV keeps its own dialect, XLSX becomes plain CSV. */
export interface ChunkDialect {
  delimiter: string;
  quote: string;
}

export function chunkDialect(reader: Reader): ChunkDialect {
  return reader.format === "csv"
    ? { delimiter: reader.delimiter, quote: reader.quote ?? '"' }
    : { delimiter: ",", quote: '"' };
}

/** How an errors-only replay's object is read: UTF-8 text in the chunk dialect (it is built from chunk objects). */
export function replayReader(reader: Reader): CsvReader {
  return { format: "csv", ...chunkDialect(reader), encoding: "utf-8" };
}

/** A staged row that the target's rules refused (e.g. a mortgage id owned by another partner). */
export interface TargetReject {
  sourceRow: number;
  field: string;
  value: string | null;
  reason: string;
}

/** What the chunk processor learned of the rows it staged, so promotion need not ask the database. */
export interface StagedChunk {
  /** Rows staged (accepted by the row rules). */
  rows: number;
  /** Distinct values of the target's key among them (equal to `rows` when the target has no key). */
  distinctKeys: number;
  /** The columns at least one staged row has a value in. */
  filled: ReadonlySet<string>;
  /** The staged rows' keys strictly increase, in staging order (so no key repeats). */
  inKeyOrder: boolean;
}

/** Where a kind of data lands: its staging table and the set-based promotion into core. */
export interface Target {
  kind: string;
  stagingTable: string;
  /** Staging columns filled from a validated row, in COPY order (lineage columns come first, implicitly). */
  columns: readonly string[];
  /** Runs inside the chunk's transaction after COPY; returns the rows the rules refused and the upsert counts. */
  promote(
    client: PoolClient,
    importId: string,
    chunkIndex: number,
    staged: StagedChunk,
  ): Promise<{ rejects: TargetReject[]; inserted: number; updated: number }>;
  /** The canonical key among `columns`: two rows of one batch sharing it are duplicates (reported, the last wins). */
  key?: readonly string[];
  /**
   * `inserted` counts core rows created, one per distinct key of the chunk that did not exist yet:
   * a chunk whose inserted equals its distinct keys shares no key with anything written before it,
   * which lets the batch's duplicate check skip re-reading the batch.
   */
  insertsByKey?: boolean;
  /**
   * File-level rules that need every chunk promoted first (e.g. a full do-not-call file replaces
   * its area codes). Runs in one transaction in Finalize; must be idempotent (Finalize retries).
   * Returns how many core rows it changed beyond the chunks' counts, for the log.
   */
  complete?(client: PoolClient, importId: string): Promise<number>;
  /** Materialized views that read this kind, refreshed after an import. */
  views: readonly string[];
}

/**
 * A source is data, not a code path: which files it claims, how to read them, how its
 * headers map to our fields, how a row is validated, and where it lands.
 */
export interface SourceSpec {
  /** Also the landing prefix: inbox/<name>/YYYY/MM/DD/<file>. */
  name: string;
  /** The partner every row belongs to; null when the file name says it (see `partnerFromFileName`). */
  partner: string | null;
  /** For sources several partners send (a barcode map): the first capture group of this pattern on the file name. */
  partnerFromFileName?: RegExp;
  description: string;
  schemaVersion: number;
  /** Recognizes a file by its name when it is not dropped under its source's prefix. */
  fileName: RegExp;
  reader: Reader;
  /** Source header (compared case-insensitively, trimmed) → field of `row`. */
  columns: Readonly<Record<string, string>>;
  /** Headers of `columns` a file may leave out (their fields read as blank). */
  optionalColumns?: readonly string[];
  /**
   * For lists whose headers vary by sender (contacts): this file's header → fields of `row`
   * (column index → field), used instead of `columns`. Throws when the header cannot serve;
   * the file is then rejected with that message.
   */
  mapHeader?(header: readonly string[]): ReadonlyMap<number, string>;
  /** Validates one row of raw strings keyed by field; outputs a record keyed by target column. */
  row: RowSchema;
  target: Target;
}

/** A column of one file and the field of `row` it feeds. */
export interface FileColumn {
  index: number;
  field: string;
  header: string;
}

/**
 * Which field each column of a file feeds: by the spec's fixed `columns` (every one not optional
 * must be there), or by its header mapping. A header that cannot serve rejects the file.
 */
export function fileColumns(spec: SourceSpec, header: readonly string[]): FileColumn[] {
  if (spec.mapHeader) {
    let mapped: ReadonlyMap<number, string>;
    try {
      mapped = spec.mapHeader(header);
    } catch (err) {
      throw new FileRejectedError(`header does not fit ${spec.name}: ${(err as Error).message}`, { cause: err });
    }
    return [...mapped]
      .map(([index, field]) => ({ index, field, header: header[index]!.trim() }))
      .sort((a, b) => a.index - b.index);
  }
  const found = new Set(header.map((h) => h.trim().toLowerCase()));
  const optional = new Set(spec.optionalColumns ?? []);
  const missing = Object.keys(spec.columns).filter((c) => !optional.has(c) && !found.has(c.toLowerCase()));
  if (missing.length > 0) {
    throw new FileRejectedError(
      `header does not match ${spec.name}: missing column(s) ${missing.map((m) => JSON.stringify(m)).join(", ")}; found ${header.length} column(s) starting ${header
        .slice(0, 5)
        .map((h) => JSON.stringify(h))
        .join(", ")}`,
    );
  }
  const fieldOf = new Map(Object.entries(spec.columns).map(([h, f]) => [h.toLowerCase(), f]));
  const out: FileColumn[] = [];
  header.forEach((h, index) => {
    const field = fieldOf.get(h.trim().toLowerCase());
    if (field) out.push({ index, field, header: h.trim() });
  });
  return out;
}
