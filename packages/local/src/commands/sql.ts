import { RemoteConsole } from "../remote";
import { Command } from "commander";
import { AdhocSql } from "@leadpipe/core";
import { withReadOnlyDatabase } from "./connect";
import { wholeNumber } from "./numbers";

/** Rows the table output holds at most by default (its widths need every row); --json streams. */
export const TABLE_LIMIT = 10_000;
export const JSON_LIMIT = 1_000_000;

/**
 * One query as the read-only role (see AdhocSql): one statement, READ ONLY transaction, timeout,
 * at most `limit` rows. Never pass the superuser's URL: the query is refused before it runs.
 */
export async function readOnlyQuery(
  url: string,
  query: string,
  timeoutMs = 30_000,
  params: unknown[] = [],
  limit = TABLE_LIMIT,
): Promise<{ fields: string[]; rows: Record<string, unknown>[]; more: boolean }> {
  return AdhocSql.query(url, query, { timeoutMs, limit, params });
}

const show = (v: unknown) =>
  v === null || v === undefined
    ? ""
    : v instanceof Date
      ? v.toISOString()
      : typeof v === "object"
        ? JSON.stringify(v)
        : String(v);

/** An aligned text table (loops, not spreads: 200k rows must not overflow the stack). */
export function formatRows(fields: string[], rows: Record<string, unknown>[], more = false): string {
  return formatCells(
    fields,
    rows.map((r) => fields.map((f) => r[f])),
    more,
  );
}

/** `formatRows` of rows given as arrays of values in `fields` order. */
export function formatCells(fields: string[], rows: readonly (readonly unknown[])[], more = false): string {
  const cells = rows.map((r) => r.map(show));
  const widths = fields.map((f) => f.length);
  for (const row of cells)
    for (let i = 0; i < row.length; i++) if (row[i]!.length > widths[i]!) widths[i] = row[i]!.length;
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  const out = [line(fields), widths.map((w) => "-".repeat(w)).join("-+-")];
  for (const row of cells) out.push(line(row));
  out.push(
    `(${rows.length} row${rows.length === 1 ? "" : "s"}${more ? "; more rows exist: raise --limit, or use --json" : ""})`,
  );
  return out.join("\n");
}

export function sqlCommand(): Command {
  return new Command("sql")
    .description(
      "run one read-only query as the read-only role (one statement, READ ONLY transaction, timeout, row cap)",
    )
    .argument("<query>", "SQL: one SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW statement")
    .option("--json", "one JSON object per row and line, streamed")
    .option(
      "--limit <n>",
      `at most this many rows (default ${TABLE_LIMIT.toLocaleString("en-US")} for the table, ` +
        `${JSON_LIMIT.toLocaleString("en-US")} with --json; 0: no cap with --json)`,
      wholeNumber(0, Number.MAX_SAFE_INTEGER),
    )
    .option(
      "--timeout <ms>",
      "statement timeout in milliseconds (the whole statement, streaming included)",
      wholeNumber(1, 2_147_483_647),
      30000,
    )
    .option("--stage <name>", "a deployed stage, through its console (after leadpipe login --stage NAME)")
    .action(async (query: string, opts: { json?: boolean; limit?: number; timeout: number; stage?: string }) => {
      if (opts.stage) {
        AdhocSql.checkStatement(query);
        const remote = RemoteConsole.forStage(opts.stage);
        if (opts.json) {
          // streamed: each row printed as it arrives (0: the console's export limit)
          const r = await remote.sql(
            query,
            opts.limit ?? JSON_LIMIT,
            () => undefined,
            (row) => write(JSON.stringify(row) + "\n"),
          );
          if (r.more) process.stderr.write("leadpipe sql: more rows exist past --limit\n");
          return;
        }
        if (opts.limit === 0) throw new Error("--limit 0 (no cap) needs --json: the table output holds every row");
        let fields: string[] = [];
        const rows: Record<string, unknown>[] = [];
        const r = await remote.sql(
          query,
          opts.limit ?? TABLE_LIMIT,
          (f) => {
            fields = f;
          },
          (row) => {
            rows.push(row);
          },
        );
        process.stdout.write(formatRows(fields, rows, r.more) + "\n");
        return;
      }
      if (!opts.json && opts.limit === 0)
        throw new Error("--limit 0 (no cap) needs --json: the table output holds every row");
      const limit = opts.limit ?? (opts.json ? JSON_LIMIT : TABLE_LIMIT);
      AdhocSql.checkStatement(query);
      if (opts.json) {
        const r = await withReadOnlyDatabase((url) =>
          AdhocSql.stream(
            url,
            query,
            { timeoutMs: opts.timeout, limit },
            () => undefined,
            (row) => write(JSON.stringify(row) + "\n"),
          ),
        );
        if (r.more) process.stderr.write(`leadpipe sql: more rows exist past --limit ${limit}\n`);
        return;
      }
      const { fields, rows, more } = await withReadOnlyDatabase((url) =>
        readOnlyQuery(url, query, opts.timeout, [], limit),
      );
      process.stdout.write(formatRows(fields, rows, more) + "\n");
    });
}

/** stdout with backpressure: a slow reader slows the fetching, nothing piles up in memory. */
function write(s: string): void | Promise<void> {
  if (process.stdout.write(s)) return;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}
