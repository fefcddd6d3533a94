import { Import, type Pool } from "@leadpipe/core";

const COLUMNS = [
  "file",
  "source",
  "status",
  "rows_read",
  "accepted",
  "rejected",
  "inserted",
  "updated",
  "unchanged",
] as const;

/** The per-file reconciliation table people read after an ingest. */
export function reconciliationTable(rows: Import.ImportRow[]): string {
  const recs = rows.map((r) => Import.reconciliationOf(r) as unknown as Record<string, unknown>);
  const cells = [COLUMNS.map((c) => c.replace("_", " ")), ...recs.map((r) => COLUMNS.map((c) => String(r[c] ?? "")))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const numeric = (i: number) => i >= 3;
  const line = (row: string[]) =>
    row
      .map((v, i) => (numeric(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
  for (const r of rows) {
    if (r.status === "FAILED" || r.status === "DUPLICATE") out.push(`  ${r.file_name}: ${r.status_reason ?? ""}`);
  }
  return out.join("\n");
}

export function reconciliationJson(r: Import.ImportRow): string {
  return JSON.stringify(Import.reconciliationOf(r));
}

export interface ProgressFigures {
  files: number;
  filesDone: number;
  chunksDone: number;
  chunksTotal: number;
  rowsDone: number;
  rowsTotal: number;
  seconds: number;
}

/** One progress line for a terminal: files, chunks and rows done, rows/s since the command started. */
export function formatProgress(p: ProgressFigures): string {
  const rate = p.seconds > 0 ? Math.round(p.rowsDone / p.seconds) : 0;
  const n = (v: number) => v.toLocaleString("en-US");
  return `${p.filesDone}/${p.files} file(s) · chunks ${n(p.chunksDone)}/${n(p.chunksTotal)} · rows ${n(p.rowsDone)}/${n(p.rowsTotal)} · ${n(rate)} rows/s · ${p.seconds.toFixed(0)} s`;
}

/**
 * Prints progress while imports run (at most once a second), read from the import_progress
 * view the dashboard also reads. `done()` clears the line.
 */
export function progressPrinter(pool: Pick<Pool, "query">, write: (s: string) => void, everyMs = 1000) {
  const started = Date.now();
  let last = 0;
  return {
    async update(rows: Import.ImportRow[]): Promise<void> {
      if (Date.now() - last < everyMs || rows.length === 0) return;
      last = Date.now();
      const {
        rows: [t],
      } = await pool.query<{ chunks_done: number; chunks_total: number; rows_done: number; rows_total: number }>(
        `SELECT coalesce(sum(chunks_done), 0)::int AS chunks_done, coalesce(sum(chunks_total), 0)::int AS chunks_total,
                coalesce(sum(rows_done), 0)::bigint AS rows_done, coalesce(sum(rows_total), 0)::bigint AS rows_total
           FROM import_progress WHERE id = ANY($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
      write(
        `\r\x1b[K${formatProgress({
          files: rows.length,
          filesDone: rows.filter((r) => Import.TERMINAL.includes(r.status)).length,
          chunksDone: t!.chunks_done,
          chunksTotal: t!.chunks_total,
          rowsDone: t!.rows_done,
          rowsTotal: t!.rows_total,
          seconds: (Date.now() - started) / 1000,
        })}`,
      );
    },
    done(): void {
      if (last > 0) write("\r\x1b[K");
    },
  };
}
