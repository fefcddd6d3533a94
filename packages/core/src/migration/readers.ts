import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse";
import type { ColumnKind, LegacyColumn } from "./cast";

/** A legacy table (or CSV file): its columns in order and the columns of its key. */
export interface LegacyTable {
  name: string;
  columns: LegacyColumn[];
  key: string[];
  /** Single-column foreign keys the catalogue declares (MySQL information_schema, SQLite foreign_key_list). */
  references?: Reference[];
}

/** A column whose values are keys of another table's rows. */
export interface Reference {
  column: string;
  table: string;
  /** The referenced column (undefined: the referenced table's primary key). */
  to?: string;
}

export type LegacyRow = Record<string, unknown>;

/**
 * A legacy source read in key order. `open` starts the consistent read (a MySQL snapshot, an
 * SQLite read transaction, CSV checksums); `rows` yields pages of rows whose key is after
 * `after` and at most `upTo` (inclusive), never by OFFSET, so memory stays one page whatever the size.
 */
export interface LegacyReader {
  readonly kind: "mysql" | "sqlite" | "csv";
  /** The source without secrets, e.g. mysql://user@host:3306/db. */
  readonly label: string;
  /** A short lineage prefix, stable across runs of the same source (e.g. mysql:legacy). */
  readonly lineage: string;
  open(): Promise<void>;
  tables(): Promise<LegacyTable[]>;
  /**
   * How many ranges can be read at once (`lane` 0 … lanes - 1), all in the same consistent view.
   * 1 for SQLite and CSV, and for MySQL unless it was opened with `parallel` and granted the lock.
   */
  readonly lanes: number;
  rows(
    table: LegacyTable,
    after: string[] | null,
    pageSize: number,
    upTo?: string[],
    lane?: number,
  ): AsyncIterable<LegacyRow[]>;
  /**
   * The last key of each range of `rangeRows` rows after `after`, in key order, read from the
   * primary key's index alone (the plan a parallel read splits a table by); the last range, up to
   * the end of the table, has no split. MySQL has it: a CLI run with lanes > 1 reads by it, and the
   * AWS state machine's item lists are made of it (migration/machine.ts, planPhase).
   */
  splits?(table: LegacyTable, after: string[] | null, rangeRows: number): AsyncIterable<string[]>;
  /**
   * The rows of `table` whose `column` equals one of `values` (in the reader's consistent view; on
   * `lane`'s connection for MySQL): a child table's parents, looked up by key.
   */
  lookup(table: LegacyTable, column: string, values: readonly string[], lane?: number): Promise<LegacyRow[]>;
  /** Facts to compare on verify (CSV: each file's sha256). */
  fingerprint(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const keyOf = (table: LegacyTable, row: LegacyRow): string[] => table.key.map((k) => String(row[k]));

export interface OpenOptions {
  /**
   * MySQL: connections reading ranges at once, all on one snapshot (default 1). Needs the RELOAD
   * privilege (FLUSH TABLES WITH READ LOCK, held while the connections start their snapshots);
   * without it the reader says so through `log` and reads with one connection.
   */
  parallel?: number;
  log?: (line: string) => void;
}

/** Opens `mysql://…`, `sqlite:<file>` or `csv:<folder>`. */
export async function openReader(from: string, opts: OpenOptions = {}): Promise<LegacyReader> {
  let reader: LegacyReader;
  if (/^mysql:\/\//i.test(from) || /^mariadb:\/\//i.test(from))
    reader = await mysqlReader(from.replace(/^mariadb:/i, "mysql:"), opts);
  else if (from.startsWith("sqlite:")) reader = await sqliteReader(from.slice("sqlite:".length));
  else if (from.startsWith("csv:")) reader = csvReader(from.slice("csv:".length));
  else
    throw new Error(
      `--from must be mysql://user:password@host:port/database, sqlite:<file> or csv:<folder>; got "${redact(from)}"`,
    );
  await reader.open();
  return reader;
}

/** Runs `work` with the source open and closes it afterwards, whatever `work` does. */
export async function withReader<T>(
  from: string,
  work: (reader: LegacyReader) => Promise<T>,
  opts: OpenOptions = {},
): Promise<T> {
  const reader = await openReader(from, opts);
  try {
    return await work(reader);
  } finally {
    await reader.close();
  }
}

/** A URL without its password. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+):[^@]*@/i, "$1@");
}

function mysqlKind(dataType: string): ColumnKind {
  const t = dataType.toLowerCase();
  if (/int$/.test(t)) return "integer";
  if (t === "decimal" || t === "numeric") return "decimal";
  if (t === "float" || t === "double" || t === "real") return "float";
  if (t === "date") return "date";
  if (t === "datetime") return "datetime";
  if (t === "timestamp") return "timestamp";
  if (/blob$|binary$|^bit$/.test(t)) return "binary";
  return "text";
}

/** Keys looked up in one statement (a child range's parents). */
const LOOKUP_BATCH = 1000;

const backtick = (id: string) => "`" + id.replace(/`/g, "``") + "`";

type MysqlConnection = import("mysql2/promise").Connection;
type Rows = import("mysql2/promise").RowDataPacket[];

/** An error MySQL raises for a missing privilege (ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR …). */
const accessDenied = (err: unknown) =>
  [1044, 1045, 1142, 1227].includes((err as { errno?: number }).errno ?? 0) ||
  /access denied|privilege/i.test((err as Error).message);

async function mysqlReader(url: string, opts: OpenOptions): Promise<LegacyReader> {
  const mysql = await import("mysql2/promise");
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!database) throw new Error("the mysql:// URL must name a database (mysql://user@host:3306/<database>)");
  const wanted = opts.parallel ?? 1;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 64)
    throw new Error(`parallel must be a whole number from 1 to 64, got ${wanted}`);
  let conns: MysqlConnection[] = [];
  const connect = async () => {
    const conn = await mysql.createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password) || process.env.LEADPIPE_MIGRATE_PASSWORD,
      database,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: "utf8mb4",
      // JSON columns as their text; nothing else is converted.
      typeCast: (field, next) => (field.type === "JSON" ? field.string("utf8") : next()),
    });
    // TIMESTAMP columns read as UTC; DATETIME columns are wall-clock and get the declared zone.
    await conn.query("SET SESSION time_zone = '+00:00'");
    await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    return conn;
  };
  const snapshot = (c: MysqlConnection) => c.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  const reader: LegacyReader = {
    kind: "mysql",
    label: redact(url),
    lineage: `mysql:${database}`,
    lanes: 1,
    async open() {
      conns = [await connect()];
      if (wanted > 1) {
        // One point in time for every connection (as mydumper does): while a global read lock is
        // held no write commits, so the snapshots all start from the same state; then it is released.
        const lock = await connect();
        try {
          await lock.query("FLUSH TABLES WITH READ LOCK");
          try {
            for (let i = 1; i < wanted; i++) conns.push(await connect());
            for (const c of conns) await snapshot(c);
          } finally {
            await lock.query("UNLOCK TABLES");
          }
          (reader as { lanes: number }).lanes = conns.length;
          return;
        } catch (err) {
          if (!accessDenied(err)) throw err;
          for (const c of conns.splice(1)) await c.end();
          opts.log?.(
            `reading with one connection: --parallel ${wanted} needs the RELOAD privilege (FLUSH TABLES WITH READ LOCK, ` +
              `held while the connections open one snapshot): ${(err as Error).message}`,
          );
        } finally {
          await lock.end();
        }
      }
      await snapshot(conns[0]!);
    },
    async tables() {
      const [cols] = await conns[0]!.query<Rows>(
        `SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.DATA_TYPE AS dt, c.COLUMN_TYPE AS ct, c.COLUMN_KEY AS k
           FROM information_schema.COLUMNS c JOIN information_schema.TABLES tb
             ON tb.TABLE_SCHEMA = c.TABLE_SCHEMA AND tb.TABLE_NAME = c.TABLE_NAME AND tb.TABLE_TYPE = 'BASE TABLE'
          WHERE c.TABLE_SCHEMA = ? ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`,
        [database],
      );
      const [keys] = await conns[0]!.query<Rows>(
        `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION`,
        [database],
      );
      const byName = new Map<string, LegacyTable>();
      for (const r of cols) {
        const t = byName.get(r.t) ?? { name: String(r.t), columns: [], key: [] };
        t.columns.push({ name: String(r.c), kind: mysqlKind(String(r.dt)), declared: String(r.ct) });
        byName.set(r.t, t);
      }
      for (const k of keys) byName.get(k.t)?.key.push(String(k.c));
      const [fks] = await conns[0]!.query<Rows>(
        `SELECT k.TABLE_NAME AS t, k.COLUMN_NAME AS c, k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rc
           FROM information_schema.KEY_COLUMN_USAGE k
          WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_SCHEMA = k.TABLE_SCHEMA AND k.REFERENCED_TABLE_NAME IS NOT NULL
            AND (SELECT count(*) FROM information_schema.KEY_COLUMN_USAGE o WHERE o.TABLE_SCHEMA = k.TABLE_SCHEMA
                  AND o.TABLE_NAME = k.TABLE_NAME AND o.CONSTRAINT_NAME = k.CONSTRAINT_NAME) = 1
          ORDER BY k.TABLE_NAME, k.ORDINAL_POSITION`,
        [database],
      );
      for (const f of fks) {
        const t = byName.get(f.t);
        if (t) (t.references ??= []).push({ column: String(f.c), table: String(f.rt), to: String(f.rc) });
      }
      return [...byName.values()];
    },
    async lookup(table, column, values, lane = 0) {
      const conn = conns[lane];
      if (!conn) throw new Error(`no reading lane ${lane} (${conns.length} open)`);
      return mysqlLookup(conn, table, column, values);
    },
    async *rows(table, after, pageSize, upTo, lane = 0) {
      const conn = conns[lane];
      if (!conn) throw new Error(`no reading lane ${lane} (${conns.length} open)`);
      const cols = table.columns.map((c) => backtick(c.name)).join(", ");
      const { key, marks, order } = keySql(table);
      let cursor = after;
      for (;;) {
        const where = [cursor ? `${key} > ${marks}` : "", upTo ? `${key} <= ${marks}` : ""].filter(Boolean);
        const sql =
          `SELECT ${cols} FROM ${backtick(table.name)}${where.length ? " WHERE " + where.join(" AND ") : ""} ` +
          `ORDER BY ${order} LIMIT ${Number(pageSize)}`;
        const [rows] = await conn.query<Rows>(sql, [...(cursor ?? []), ...(upTo ?? [])]);
        if (!rows.length) return;
        yield rows as LegacyRow[];
        if (rows.length < pageSize) return;
        cursor = keyOf(table, rows[rows.length - 1]!);
      }
    },
    async *splits(table, after, rangeRows) {
      const { key, marks, order } = keySql(table);
      const keys = table.key.map(backtick).join(", ");
      let cursor = after;
      for (;;) {
        // The rangeRows-th key after the cursor, from the key's index: a seek, then a walk of one range.
        const [rows] = await conns[0]!.query<Rows>(
          `SELECT ${keys} FROM ${backtick(table.name)}${cursor ? ` WHERE ${key} > ${marks}` : ""} ` +
            `ORDER BY ${order} LIMIT 1 OFFSET ${Number(rangeRows) - 1}`,
          cursor ?? [],
        );
        if (!rows.length) return;
        cursor = keyOf(table, rows[0]!);
        yield cursor;
      }
    },
    async fingerprint() {
      return {};
    },
    async close() {
      for (const c of conns) {
        await c.query("COMMIT").catch(() => undefined);
        await c.end();
      }
      conns = [];
    },
  };
  return reader;
}

/** The rows of `table` whose `column` is one of `values`, a batch of keys per statement. */
async function mysqlLookup(conn: MysqlConnection, table: LegacyTable, column: string, values: readonly string[]) {
  const cols = table.columns.map((c) => backtick(c.name)).join(", ");
  const out: LegacyRow[] = [];
  for (let i = 0; i < values.length; i += LOOKUP_BATCH) {
    const part = values.slice(i, i + LOOKUP_BATCH);
    const [rows] = await conn.query<Rows>(
      `SELECT ${cols} FROM ${backtick(table.name)} WHERE ${backtick(column)} IN (${part.map(() => "?").join(", ")})`,
      part,
    );
    out.push(...(rows as LegacyRow[]));
  }
  return out;
}

/** A table's key as SQL: the tuple, its placeholders and its order (names quoted; no value in the text). */
function keySql(table: LegacyTable) {
  if (!table.key.length)
    throw new Error(`table ${table.name} has no primary key: give it one ("key" in the mapping file)`);
  return {
    key: `(${table.key.map(backtick).join(", ")})`,
    marks: `(${table.key.map(() => "?").join(", ")})`,
    order: table.key.map(backtick).join(", "),
  };
}

function sqliteKind(declared: string): ColumnKind {
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "integer";
  if (/CHAR|CLOB|TEXT/.test(t)) return "text";
  if (t.includes("BLOB")) return "binary";
  if (/REAL|FLOA|DOUB/.test(t)) return "float";
  if (t.includes("DATETIME") || t.includes("TIMESTAMP")) return "datetime";
  if (t.includes("DATE")) return "date";
  if (/DEC|NUMERIC/.test(t)) return "decimal";
  if (t.includes("BOOL")) return "boolean";
  return "text";
}

const quoteId = (id: string) => `"${id.replace(/"/g, '""')}"`;

async function sqliteReader(file: string): Promise<LegacyReader> {
  if (!file) throw new Error("sqlite: needs a file (sqlite:path/to/db.sqlite)");
  const { default: Database } = await import("better-sqlite3");
  let db: import("better-sqlite3").Database | undefined;
  return {
    kind: "sqlite",
    label: `sqlite:${file}`,
    lanes: 1,
    lineage: `sqlite:${path.basename(file)}`,
    async open() {
      db = new Database(file, { readonly: true, fileMustExist: true });
      // One read transaction for the whole run: every page sees the same database.
      db.exec("BEGIN");
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
    },
    async tables() {
      const names = db!
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all() as { name: string }[];
      return names.map(({ name }) => {
        const info = db!.prepare(`PRAGMA table_info(${quoteId(name)})`).all() as {
          name: string;
          type: string;
          pk: number;
        }[];
        const key = info
          .filter((c) => c.pk > 0)
          .sort((a, b) => a.pk - b.pk)
          .map((c) => c.name);
        const columns = info.map((c) => ({ name: c.name, kind: sqliteKind(c.type), declared: c.type || "(none)" }));
        const fks = db!.prepare(`PRAGMA foreign_key_list(${quoteId(name)})`).all() as {
          id: number;
          table: string;
          from: string;
          to: string | null;
        }[];
        const single = fks.filter((f) => fks.filter((g) => g.id === f.id).length === 1);
        const references = single.map((f) => ({ column: f.from, table: f.table, ...(f.to ? { to: f.to } : {}) }));
        return { name, columns, key: key.length ? key : ["rowid"], ...(references.length ? { references } : {}) };
      });
    },
    async lookup(table, column, values) {
      const cols = table.columns.map((c) => quoteId(c.name));
      if (table.key[0] === "rowid") cols.push("rowid");
      const col = table.columns.find((c) => c.name === column);
      const out: LegacyRow[] = [];
      for (let i = 0; i < values.length; i += LOOKUP_BATCH) {
        const part = values
          .slice(i, i + LOOKUP_BATCH)
          .map((v) => ((!col || col.kind === "integer") && /^-?\d+$/.test(v) ? BigInt(v) : v));
        const stmt = db!
          .prepare(
            `SELECT ${cols.join(", ")} FROM ${quoteId(table.name)} WHERE ${quoteId(column)} IN (${part.map(() => "?").join(", ")})`,
          )
          .safeIntegers(true);
        out.push(...(stmt.all(...part) as LegacyRow[]));
      }
      return out;
    },
    async *rows(table, after, pageSize, upTo) {
      const cols = table.columns.map((c) => quoteId(c.name));
      if (table.key[0] === "rowid") cols.push("rowid");
      const key = `(${table.key.map(quoteId).join(", ")})`;
      const marks = `(${table.key.map(() => "?").join(", ")})`;
      const asParam = (k: string[]) =>
        k.map((v, i) => {
          const col = table.columns.find((c) => c.name === table.key[i]);
          return (!col || col.kind === "integer") && /^-?\d+$/.test(v) ? BigInt(v) : v;
        });
      let cursor = after;
      for (;;) {
        const where = [cursor ? `${key} > ${marks}` : "", upTo ? `${key} <= ${marks}` : ""].filter(Boolean);
        const stmt = db!
          .prepare(
            `SELECT ${cols.join(", ")} FROM ${quoteId(table.name)}${where.length ? " WHERE " + where.join(" AND ") : ""} ` +
              `ORDER BY ${table.key.map(quoteId).join(", ")} LIMIT ${Number(pageSize)}`,
          )
          .safeIntegers(true);
        const rows = stmt.all(...(cursor ? asParam(cursor) : []), ...(upTo ? asParam(upTo) : [])) as LegacyRow[];
        if (!rows.length) return;
        yield rows;
        if (rows.length < pageSize) return;
        cursor = keyOf(table, rows[rows.length - 1]!);
      }
    },
    async fingerprint() {
      return {};
    },
    async close() {
      if (db?.inTransaction) db.exec("COMMIT");
      db?.close();
    },
  };
}

/** The line number column of a CSV table: its key (files have no other). */
export const CSV_ROW = "_row";

function csvReader(folder: string): LegacyReader {
  if (!folder) throw new Error("csv: needs a folder (csv:path/to/folder)");
  const files = () =>
    readdirSync(folder)
      .filter((f) => /\.csv$/i.test(f))
      .sort();
  const sha = (file: string) =>
    new Promise<string>((resolve, reject) => {
      const h = createHash("sha256");
      createReadStream(file)
        .on("data", (d) => h.update(d))
        .on("error", reject)
        .on("end", () => resolve(h.digest("hex")));
    });
  let sums: Record<string, string> = {};
  return {
    kind: "csv",
    label: `csv:${folder}`,
    lanes: 1,
    lineage: `csv:${path.basename(path.resolve(folder))}`,
    async open() {
      if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory())
        throw new Error(`csv: ${folder} is not a folder`);
      // Checksummed first: verify tells a file changed since the run from a value changed in it.
      sums = {};
      for (const f of files()) sums[f] = await sha(path.join(folder, f));
    },
    async tables() {
      const out: LegacyTable[] = [];
      for (const f of files()) {
        const parser = createReadStream(path.join(folder, f)).pipe(parse({ to_line: 1, bom: true }));
        let header: string[] = [];
        for await (const rec of parser) header = rec as string[];
        const columns: LegacyColumn[] = [
          { name: CSV_ROW, kind: "integer", declared: "row number" },
          ...header.map((h) => ({ name: h, kind: "text" as const, declared: "text" })),
        ];
        out.push({ name: f.replace(/\.csv$/i, ""), columns, key: [CSV_ROW] });
      }
      return out;
    },
    async *rows(table, after, pageSize, upTo) {
      const file = files().find((f) => f.replace(/\.csv$/i, "") === table.name)!;
      const from = after ? Number(after[0]) : 0;
      const to = upTo ? Number(upTo[0]) : Infinity;
      const parser = createReadStream(path.join(folder, file)).pipe(
        parse({ bom: true, from_line: 2, relax_column_count: true }),
      );
      const names = table.columns.slice(1).map((c) => c.name);
      let n = 0;
      let page: LegacyRow[] = [];
      for await (const rec of parser as AsyncIterable<string[]>) {
        n++;
        if (n <= from) continue;
        if (n > to) break;
        const row: LegacyRow = { [CSV_ROW]: n };
        names.forEach((h, i) => {
          row[h] = rec[i] ?? null;
        });
        page.push(row);
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },
    async lookup(table, column, values) {
      const wanted = new Set(values);
      const out: LegacyRow[] = [];
      for await (const page of this.rows(table, null, 10_000))
        for (const row of page) if (wanted.has(String(row[column]))) out.push(row);
      return out;
    },
    async fingerprint() {
      return sums;
    },
    async close() {},
  };
}
