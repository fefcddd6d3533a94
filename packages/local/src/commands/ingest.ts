import { existsSync } from "node:fs";
import { Command } from "commander";
import { Import, Sources } from "@leadpipe/core";
import { LocalPlatform, type Dropped } from "../platform";
import { reconciliationJson, reconciliationTable } from "../report";

/** Drops files into the landing bucket, waits for their imports, prints the reconciliation. */
export async function ingestFiles(platform: LocalPlatform, files: string[], opts: { source?: string; json?: boolean; progress?: boolean }): Promise<Import.ImportRow[]> {
  const dropped: Dropped[] = [];
  for (const f of files) dropped.push(await platform.drop(f, opts.source));
  const started = Date.now();
  let last = 0;
  const rows = await platform.waitFor(dropped, (current) => {
    if (!opts.progress || Date.now() - last < 1000) return;
    last = Date.now();
    const done = current.reduce((n, r) => n + r.chunks_done, 0);
    const total = current.reduce((n, r) => n + (r.chunks_total ?? 0), 0);
    process.stderr.write(`\r${current.filter((r) => Import.TERMINAL.includes(r.status)).length}/${dropped.length} files, chunks ${done}/${total}, ${((Date.now() - started) / 1000).toFixed(0)} s `);
  });
  if (opts.progress) process.stderr.write("\r\x1b[K");
  if (opts.json) for (const r of rows) process.stdout.write(reconciliationJson(r) + "\n");
  else process.stdout.write(reconciliationTable(rows) + "\n");
  return rows;
}

export function ingestCommand(): Command {
  return new Command("ingest")
    .description("drop files into the local landing bucket, wait for their imports and print the reconciliation")
    .argument("<files...>", "files to ingest")
    .option("--source <name>", `the source, when the file name does not say it (${Sources.names().join(", ")})`)
    .option("--json", "one JSON object per import and line")
    .action(async (files: string[], opts: { source?: string; json?: boolean }) => {
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length) throw new Error(`no such file: ${missing.join(", ")}`);
      if (opts.source && !Sources.get(opts.source)) throw new Error(`unknown source ${opts.source}; known: ${Sources.names().join(", ")}`);
      const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
      try {
        const rows = await ingestFiles(platform, files, { ...opts, progress: !opts.json && process.stderr.isTTY });
        process.exitCode = rows.some((r) => r.status === "FAILED") ? 1 : 0;
      } finally {
        await platform.close();
      }
    });
}

/** Handler logs are JSON lines for machines; on the CLI only alerts and errors reach the terminal. */
export function quietLog(json?: boolean): (line: string) => void {
  return (line) => {
    if (line.startsWith("ALERT") || !json) process.stderr.write(line + "\n");
  };
}
