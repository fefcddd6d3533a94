import { existsSync } from "node:fs";
import { Command } from "commander";
import { type Import, Sources } from "@leadpipe/core";
import { LocalPlatform, type Dropped } from "../platform";
import { progressPrinter, reconciliationJson, reconciliationTable } from "../report";
import { quietLog } from "./connect";

/** Drops files into the landing bucket, waits for their imports (printing progress if asked), prints the reconciliation. */
export async function ingestFiles(
  platform: LocalPlatform,
  files: string[],
  opts: { source?: string; json?: boolean; progress?: boolean | ((s: string) => void) },
): Promise<Import.ImportRow[]> {
  const dropped: Dropped[] = [];
  for (const f of files) dropped.push(await platform.drop(f, opts.source));
  const rows = await waitWithProgress(platform, opts.progress, (onProgress) => platform.waitFor(dropped, onProgress));
  if (opts.json) for (const r of rows) process.stdout.write(reconciliationJson(r) + "\n");
  else process.stdout.write(reconciliationTable(rows) + "\n");
  return rows;
}

/** Runs a wait with a progress line on stderr (or the given writer) when asked. */
export async function waitWithProgress(
  platform: LocalPlatform,
  progress: boolean | ((s: string) => void) | undefined,
  wait: (onProgress?: (rows: Import.ImportRow[]) => Promise<void>) => Promise<Import.ImportRow[]>,
): Promise<Import.ImportRow[]> {
  if (!progress) return wait();
  const printer = progressPrinter(
    platform.pool,
    typeof progress === "function" ? progress : (s) => process.stderr.write(s),
  );
  try {
    return await wait((rows) => printer.update(rows));
  } finally {
    printer.done();
  }
}

export function ingestCommand(): Command {
  return new Command("ingest")
    .description("drop files into the local landing bucket, wait for their imports and print the reconciliation")
    .argument("<files...>", "files to ingest")
    .option("--source <name>", `the source, when the file name does not say it (${Sources.names().join(", ")})`)
    .option("--json", "one JSON object per import and line")
    .option("--progress", "print chunks, rows and rows/s to stderr while waiting (the default on a terminal)")
    .action(async (files: string[], opts: { source?: string; json?: boolean; progress?: boolean }) => {
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length) throw new Error(`no such file: ${missing.join(", ")}`);
      if (opts.source && !Sources.get(opts.source))
        throw new Error(`unknown source ${opts.source}; known: ${Sources.names().join(", ")}`);
      const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
      try {
        const rows = await ingestFiles(platform, files, {
          ...opts,
          progress: opts.progress ?? (!opts.json && process.stderr.isTTY),
        });
        process.exitCode = rows.some((r) => r.status === "FAILED") ? 1 : 0;
      } finally {
        await platform.close();
      }
    });
}
