import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { from as copyFrom } from "pg-copy-streams";
import type { PoolClient } from "./db";

export type CopyValue = string | number | boolean | null | undefined;

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One value in PostgreSQL's COPY text format. */
export function copyText(v: CopyValue): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v !== "string") return String(v);
  return NEEDS_ESCAPE.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : v;
}

/** Streams rows into `table` with COPY FROM STDIN (text format), in ~1 MB writes. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: Iterable<readonly CopyValue[]>): Promise<void> {
  const sql = `COPY ${table} (${columns.join(", ")}) FROM STDIN`;
  function* lines(): Generator<string> {
    let batch = "";
    for (const row of rows) {
      let line = "";
      for (let i = 0; i < row.length; i++) line += (i === 0 ? "" : "\t") + copyText(row[i]);
      batch += line + "\n";
      if (batch.length > 1 << 20) {
        yield batch;
        batch = "";
      }
    }
    if (batch) yield batch;
  }
  await pipeline(Readable.from(lines()), client.query(copyFrom(sql)));
}
