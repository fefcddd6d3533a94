import type { RowSchema } from "./fields";
import type { PoolClient } from "../db";

/** How the bytes of a file are read. */
export interface CsvReader {
  format: "csv";
  delimiter: string;
  encoding: "utf-8" | "windows-1252";
  /** false: the file has no header row; its fields are the keys of `columns`, in order. Default true. */
  header?: boolean;
}
export type Reader = CsvReader;

/** A staged row that the target's rules refused (e.g. a mortgage id owned by another partner). */
export interface TargetReject {
  sourceRow: number;
  field: string;
  value: string | null;
  reason: string;
}

/** Where a kind of data lands: its staging table and the set-based promotion into core. */
export interface Target {
  kind: string;
  stagingTable: string;
  /** Staging columns filled from a validated row, in COPY order (lineage columns come first, implicitly). */
  columns: readonly string[];
  /** Runs inside the chunk's transaction after COPY; returns the rows the rules refused and the upsert counts. */
  promote(client: PoolClient, importId: string, chunkIndex: number): Promise<{ rejects: TargetReject[]; inserted: number; updated: number }>;
  /** The canonical key among `columns`: two rows of one batch sharing it are duplicates (reported, the last wins). */
  key?: readonly string[];
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
  partner: string | null;
  description: string;
  schemaVersion: number;
  /** Recognizes a file by its name when it is not dropped under its source's prefix. */
  fileName: RegExp;
  reader: Reader;
  /** Source header (compared case-insensitively, trimmed) → field of `row`. */
  columns: Readonly<Record<string, string>>;
  /** Headers of `columns` a file may leave out (their fields read as blank). */
  optionalColumns?: readonly string[];
  /** Validates one row of raw strings keyed by field; outputs a record keyed by target column. */
  row: RowSchema;
  target: Target;
}
