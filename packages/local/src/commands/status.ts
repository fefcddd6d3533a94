import { existsSync } from "node:fs";
import { Command } from "commander";
import { Import } from "@leadpipe/core";
import { homePaths } from "../home";
import { RemoteConsole } from "../remote";
import { mirrorPath } from "../mirror";
import { wholeNumber } from "./numbers";
import { withPool, withReadOnlyDatabase } from "./connect";
import { readOnlyQuery, formatRows } from "./sql";

const RECENT = Import.RECENT_IMPORTS_SQL;

export function statusCommand(): Command {
  return new Command("status")
    .description(
      "recent imports, or one import in full (metadata, steps, progress, reports, rejects by reason, replays)",
    )
    .argument("[importId]", "an import id")
    .option("--json", "JSON (one object per line for the recent list)")
    .option("--limit <n>", "how many recent imports (at most 1,000)", wholeNumber(1, 1000), 20)
    .option("--stage <name>", "a deployed stage, through its console (after leadpipe login --stage NAME)")
    .action(async (importId: string | undefined, opts: { json?: boolean; limit: number; stage?: string }) => {
      if (opts.stage) return remoteStatus(RemoteConsole.forStage(opts.stage), importId, opts);
      if (!importId) {
        const { fields, rows } = await withReadOnlyDatabase((url) => readOnlyQuery(url, RECENT, 30_000, [opts.limit]));
        if (opts.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + "\n");
        else process.stdout.write(formatRows(fields, rows) + "\n");
        return;
      }
      if (!/^[0-9a-f-]{36}$/i.test(importId)) throw new Error(`not an import id: ${importId}`);
      const d = await withPool((pool) => Import.describe(pool, importId));
      const local = localReports(d, homePaths().root);
      process.stdout.write(
        opts.json ? JSON.stringify({ ...d, local_reports: local }, null, 2) + "\n" : formatDescription(d, local),
      );
    });
}

async function remoteStatus(
  remote: RemoteConsole,
  importId: string | undefined,
  opts: { json?: boolean; limit: number },
) {
  if (!importId) {
    const { imports } = await remote.recent(opts.limit);
    if (opts.json) for (const r of imports) process.stdout.write(JSON.stringify(r) + "\n");
    else process.stdout.write(formatRows(Object.keys(imports[0] ?? {}), imports) + "\n");
    return;
  }
  if (!/^[0-9a-f-]{36}$/i.test(importId)) throw new Error(`not an import id: ${importId}`);
  const d = await remote.describe(importId);
  process.stdout.write(opts.json ? JSON.stringify(d, null, 2) + "\n" : formatDescription(d));
}

export type LocalReports = Record<keyof typeof Import.REPORT_FILES, string | null>;

/**
 * Where the platform mirrored the import's reports under LEADPIPE_HOME (mirror.ts), each file
 * that is there (null: not written, or written before the platform mirrored reports).
 */
export function localReports(d: Import.ImportDescription, root: string): LocalReports | null {
  const prefix = d.import.reports_prefix;
  if (!d.reports || !prefix) return null;
  const at = (file: string) => {
    const local = mirrorPath(root, prefix + file);
    return local && existsSync(local) ? local : null;
  };
  const files = Import.REPORT_FILES;
  return { success: at(files.success), errors: at(files.errors), checklist: at(files.checklist) };
}

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : "");
const n = (v: number | null | undefined) => (v === null || v === undefined ? "?" : v.toLocaleString("en-US"));

/** One import for people: a label per line, the numbers that reconcile, where to look next. */
export function formatDescription(d: Import.ImportDescription, local: LocalReports | null = null): string {
  const i = d.import;
  const lines: [string, string][] = [
    ["import", i.id],
    ["file", `${i.file_name}  s3://${i.bucket}/${i.object_key}`],
    [
      "source",
      `${i.source ?? "unknown"}${i.partner ? `, partner ${i.partner}` : ""}${i.kind ? `, ${i.kind}` : ""}${i.schema_version ? `, schema v${i.schema_version}` : ""}`,
    ],
    ["size", `${n(i.size_bytes)} bytes${i.sha256 ? `, sha256 ${i.sha256}` : ""}`],
    ["uploaded", `by ${i.uploaded_by ?? "?"} at ${iso(i.uploaded_at)}`],
    [
      "status",
      `${i.status}${i.status_reason ? ` (${i.status_reason})` : ""}${i.current_step ? `, at ${i.current_step}` : ""}${i.failed_step ? `, failed in ${i.failed_step}` : ""}`,
    ],
    [
      "rows",
      `read ${n(i.rows_read)} = accepted ${n(i.accepted)} + rejected ${n(i.rejected)}; accepted = inserted ${n(i.inserted)} + updated ${n(i.updated)} + unchanged ${n(i.unchanged)}`,
    ],
    [
      "progress",
      `chunks ${d.progress.chunks_done}/${d.progress.chunks_total ?? "?"}, rows ${n(d.progress.rows_done)}/${n(d.progress.rows_total)}${d.progress.rows_per_second ? `, ${n(d.progress.rows_per_second)} rows/s` : ""}`,
    ],
    [
      "steps",
      Object.entries(i.step_timings)
        .sort(([, a], [, b]) => String(a.started_at ?? "").localeCompare(String(b.started_at ?? "")))
        .map(([step, t]) => `${step} ${t.ms !== undefined ? `${t.ms} ms` : "running"}`)
        .join(", "),
    ],
    ["times", `created ${iso(i.created_at)}, finished ${iso(i.finished_at) || "-"}`],
  ];
  if (i.duplicate_of) lines.push(["duplicate of", i.duplicate_of]);
  if (i.alert_status) lines.push(["alert", `${i.alert_status}${i.alert_error ? `: ${i.alert_error}` : ""}`]);
  if (d.reports) {
    const beside = (url: string, file: string | null | undefined) => (file ? `${url}  ${file}` : url);
    lines.push(
      ["reports", beside(d.reports.success, local?.success)],
      ["", beside(d.reports.errors, local?.errors)],
      ["", beside(d.reports.checklist, local?.checklist)],
    );
  }
  if (d.replay_of) lines.push(["replay of", `${d.replay_of.id} (${d.replay_of.mode})`]);
  for (const [k, r] of d.replays.entries()) {
    lines.push([
      k === 0 ? "replays" : "",
      `${r.id} ${r.mode} ${r.status} read ${n(r.rows_read)}, accepted ${n(r.accepted)}, rejected ${n(r.rejected)}`,
    ]);
  }
  if (d.reconciliation && d.replays.length > 0) {
    const r = d.reconciliation;
    lines.push([
      "across runs",
      `read ${n(r.rows_read)} = accepted ${n(r.accepted)} + re-ingested by replays ${n(r.resolved_by_replays)} + still rejected ${n(r.outstanding_rejects)}`,
    ]);
  }
  for (const [k, r] of d.rejects.entries()) {
    lines.push([
      k === 0 ? "rejects" : "",
      `${String(r.rows).padStart(7)} row(s)  ${r.error_type}  ${r.field_name ?? "-"}: ${r.error_message}${r.resolved ? ` (${r.resolved} re-ingested)` : ""}`,
    ]);
  }
  if (i.status !== "PENDING" && i.status !== "STAGING" && i.status !== "PROCESSING" && i.status !== "DUPLICATE")
    lines.push(["replay", d.replay_command]);
  return lines.map(([k, v]) => `${k.padEnd(12)} ${v}`).join("\n") + "\n";
}
