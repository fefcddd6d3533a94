import { Import } from "@leadpipe/core";

const COLUMNS = ["file", "source", "status", "rows_read", "accepted", "rejected", "inserted", "updated", "unchanged"] as const;

/** The per-file reconciliation table people read after an ingest. */
export function reconciliationTable(rows: Import.ImportRow[]): string {
  const recs = rows.map((r) => Import.reconciliationOf(r) as unknown as Record<string, unknown>);
  const cells = [COLUMNS.map((c) => c.replace("_", " ")), ...recs.map((r) => COLUMNS.map((c) => String(r[c] ?? "")))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const numeric = (i: number) => i >= 3;
  const line = (row: string[]) => row.map((v, i) => (numeric(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  const out = [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
  for (const r of rows) {
    if (r.status === "FAILED" || r.status === "DUPLICATE") out.push(`  ${r.file_name}: ${r.status_reason ?? ""}`);
  }
  return out.join("\n");
}

export function reconciliationJson(r: Import.ImportRow): string {
  return JSON.stringify(Import.reconciliationOf(r));
}
