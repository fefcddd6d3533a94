import { Command } from "commander";
import { createPool, migrate } from "@leadpipe/core";
import { homePaths } from "../home";
import { startPostgres } from "../postgres";
import { readRuntime } from "../runtime-file";
import { wholeNumber } from "./numbers";

/** Runs one query in a READ ONLY transaction with a statement timeout: analysts cannot change data by accident. */
export async function readOnlyQuery(url: string, query: string, timeoutMs = 30_000, params: unknown[] = []): Promise<{ fields: string[]; rows: Record<string, unknown>[] }> {
  const pool = createPool(url, 1);
  const client = await pool.connect();
  try {
    await client.query("BEGIN TRANSACTION READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
    const r = await client.query(query, params);
    await client.query("ROLLBACK");
    return { fields: (r.fields ?? []).map((f) => f.name), rows: r.rows ?? [] };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    const e = err as Error & { code?: string };
    if (e.code === "25006") throw new Error(`refused: leadpipe sql is read-only (${e.message})`);
    throw err;
  } finally {
    client.release();
    await pool.end();
  }
}

export function formatRows(fields: string[], rows: Record<string, unknown>[]): string {
  const show = (v: unknown) => (v === null || v === undefined ? "" : v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v));
  const cells = [fields, ...rows.map((r) => fields.map((f) => show(r[f])))];
  const widths = fields.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(" | ").trimEnd();
  return [line(fields), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.slice(1).map(line), `(${rows.length} row${rows.length === 1 ? "" : "s"})`].join("\n");
}

/** The database of a running platform, else the embedded one started just for this command. */
export async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const running = readRuntime();
  if (running) return fn(running.databaseUrl);
  const pg = await startPostgres(homePaths().pg);
  try {
    const pool = createPool(pg.url, 1);
    await migrate(pool);
    await pool.end();
    return await fn(pg.url);
  } finally {
    await pg.stop();
  }
}

export function sqlCommand(): Command {
  return new Command("sql")
    .description("run one read-only query (READ ONLY transaction, 30 s statement timeout)")
    .argument("<query>", "SQL")
    .option("--json", "one JSON object per row and line")
    .option("--timeout <ms>", "statement timeout in milliseconds", wholeNumber(1, 2_147_483_647), 30000)
    .action(async (query: string, opts: { json?: boolean; timeout: number }) => {
      const { fields, rows } = await withDatabase((url) => readOnlyQuery(url, query, opts.timeout));
      if (opts.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + "\n");
      else process.stdout.write(formatRows(fields, rows) + "\n");
    });
}
