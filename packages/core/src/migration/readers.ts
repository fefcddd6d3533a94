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
  rows(table: LegacyTable, after: string[] | null, pageSize: number, upTo?: string[]): AsyncIterable<LegacyRow[]>;
  /** Facts to compare on verify (CSV: each file's sha256). */
  fingerprint(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const keyOf = (table: LegacyTable, row: LegacyRow): string[] => table.key.map((k) => String(row[k]));

/** Opens `mysql://…`, `sqlite:<file>` or `csv:<folder>`. */
export async function openReader(from: string): Promise<LegacyReader> {
  let reader: LegacyReader;
  if (/^mysql:\/\//i.test(from) || /^mariadb:\/\//i.test(from))
    reader = await mysqlReader(from.replace(/^mariadb:/i, "mysql:"));
  else if (from.startsWith("sqlite:")) reader = await sqliteReader(from.slice("sqlite:".length));
  else if (from.startsWith("csv:")) reader = csvReader(from.slice("csv:".length));
  else
    throw new Error(
      `--from must be mysql://user:password@host:port/database, sqlite:<file> or csv:<folder>; got "${redact(from)}"`,
    );
  await reader.open();
  return reader;
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

const backtick = (id: string) => "`" + id.replace(/`/g, "``") + "`";

async function mysqlReader(url: string): Promise<LegacyReader> {
  const mysql = await import("mysql2/promise");
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!database) throw new Error("the mysql:// URL must name a database (mysql://user@host:3306/<database>)");
  let conn: import("mysql2/promise").Connection | undefined;
  return {
    kind: "mysql",
    label: redact(url),
    lineage: `mysql:${database}`,
    async open() {
      conn = await mysql.createConnection({
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
      await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    },
    async tables() {
      const [cols] = await conn!.query<import("mysql2/promise").RowDataPacket[]>(
        `SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.DATA_TYPE AS dt, c.COLUMN_TYPE AS ct, c.COLUMN_KEY AS k
           FROM information_schema.COLUMNS c JOIN information_schema.TABLES tb
             ON tb.TABLE_SCHEMA = c.TABLE_SCHEMA AND tb.TABLE_NAME = c.TABLE_NAME AND tb.TABLE_TYPE = 'BASE TABLE'
          WHERE c.TABLE_SCHEMA = ? ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`,
        [database],
      );
      const [keys] = await conn!.query<import("mysql2/promise").RowDataPacket[]>(
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
      return [...byName.values()];
    },
    async *rows(table, after, pageSize, upTo) {
      if (!table.key.length)
        throw new Error(`table ${table.name} has no primary key: give it one ("key" in the mapping file)`);
      const cols = table.columns.map((c) => backtick(c.name)).join(", ");
      const key = `(${table.key.map(backtick).join(", ")})`;
      const marks = `(${table.key.map(() => "?").join(", ")})`;
      let cursor = after;
      for (;;) {
        const where = [cursor ? `${key} > ${marks}` : "", upTo ? `${key} <= ${marks}` : ""].filter(Boolean);
        const sql =
          `SELECT ${cols} FROM ${backtick(table.name)}${where.length ? " WHERE " + where.join(" AND ") : ""} ` +
          `ORDER BY ${table.key.map(backtick).join(", ")} LIMIT ${Number(pageSize)}`;
        const [rows] = await conn!.query<import("mysql2/promise").RowDataPacket[]>(sql, [
          ...(cursor ?? []),
          ...(upTo ?? []),
        ]);
        if (!rows.length) return;
        yield rows as LegacyRow[];
        if (rows.length < pageSize) return;
        cursor = keyOf(table, rows[rows.length - 1]!);
      }
    },
    async fingerprint() {
      return {};
    },
    async close() {
      if (conn) await conn.query("COMMIT").catch(() => undefined);
      await conn?.end();
    },
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
        return { name, columns, key: key.length ? key : ["rowid"] };
      });
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
    async fingerprint() {
      return sums;
    },
    async close() {},
  };
}
