import { Command } from "commander";
import { readOnlyQuery, formatRows, withDatabase } from "./sql";

export function statusCommand(): Command {
  return new Command("status")
    .description("recent imports, or one import in full")
    .argument("[importId]", "an import id")
    .option("--json", "JSON lines")
    .option("--limit <n>", "how many recent imports", "20")
    .action(async (importId: string | undefined, opts: { json?: boolean; limit: string }) => {
      const query = importId
        ? "SELECT i.*, (SELECT count(*) FROM import_rejects r WHERE r.import_id = i.id) AS reject_issues FROM imports i WHERE i.id::text = $1"
        : `SELECT id, file_name, source, status, rows_read, accepted, rejected, inserted, updated, unchanged, chunks_done || '/' || coalesce(chunks_total, 0) AS chunks, created_at
             FROM imports ORDER BY seq DESC LIMIT ${Math.max(1, Math.min(1000, Number(opts.limit) || 20))}`;
      const { fields, rows } = await withDatabase((url) => readOnlyQuery(url, query, 30_000, importId ? [importId] : []));
      if (importId && rows.length === 0) throw new Error(`no import ${importId}`);
      if (opts.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + "\n");
      else if (importId) for (const [k, v] of Object.entries(rows[0]!)) process.stdout.write(`${k.padEnd(16)} ${v instanceof Date ? v.toISOString() : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "")}\n`);
      else process.stdout.write(formatRows(fields, rows) + "\n");
    });
}
