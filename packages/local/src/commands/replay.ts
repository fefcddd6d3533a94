import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { Import } from "@leadpipe/core";
import { LocalPlatform } from "../platform";
import { reconciliationJson, reconciliationTable } from "../report";
import { quietLog } from "./connect";
import { waitWithProgress } from "./ingest";
import { RemoteConsole } from "../remote";
import { formatDescription } from "./status";

export interface ReplayOptions {
  mode: Import.ReplayMode;
  /** A local file of corrected rows (errors-only). */
  file?: string;
  json?: boolean;
  progress?: boolean | ((s: string) => void);
}

/**
 * Replays an import on the platform and waits for it: the corrected file (if any) is uploaded
 * next to the replays, the replay handler starts a new execution, the reconciliation is printed.
 */
export async function replayImport(
  platform: LocalPlatform,
  importId: string,
  opts: ReplayOptions,
): Promise<{ result: Import.ReplayResult; row?: Import.ImportRow }> {
  let fixedKey: string | undefined;
  if (opts.file) {
    fixedKey = `replays/uploads/${randomUUID()}/${path.basename(opts.file)}`;
    await platform.put(fixedKey, opts.file);
  }
  const result = (await platform.invoke("replay", {
    importId,
    mode: opts.mode,
    fixedKey,
    requestedBy: os.userInfo().username,
  })) as Import.ReplayResult;
  if (!opts.json) process.stderr.write(`${result.message}\n`);
  if (result.alreadyResolved.length > 0 && !opts.json) {
    process.stderr.write(
      `rows already re-ingested by an earlier replay, left alone: ${result.alreadyResolved.join(", ")}\n`,
    );
  }
  if (!result.replayId) {
    if (opts.json) process.stdout.write(JSON.stringify(result) + "\n");
    return { result };
  }
  const [row] = await waitWithProgress(platform, opts.progress, (onProgress) =>
    platform.waitForImports([result.replayId!], onProgress),
  );
  if (opts.json)
    process.stdout.write(JSON.stringify({ ...result, replay: JSON.parse(reconciliationJson(row!)) }) + "\n");
  else {
    const original = await Import.getImport(platform.pool, result.original);
    process.stdout.write(
      `${reconciliationTable([row!])}\noriginal ${original.id}: ${original.status}${original.status_reason ? ` (${original.status_reason})` : ""}\n`,
    );
  }
  return { result, row };
}

/**
 * Replays an import of a deployed stage through its console (an errors-only one's corrected file uploaded
 * as the Imports page does), and waits for the replay there.
 */
export async function replayRemote(
  remote: RemoteConsole,
  importId: string,
  opts: { mode: Import.ReplayMode; file?: string; json?: boolean },
  timeoutMs = 3_600_000,
): Promise<Import.ImportDescription | undefined> {
  const result = await remote.replay(importId, opts.mode, opts.file);
  if (!opts.json) process.stderr.write(`${result.message}\n`);
  if (!result.replayId) {
    if (opts.json) process.stdout.write(JSON.stringify(result) + "\n");
    return undefined;
  }
  const d = await remote.waitFor(result.replayId, timeoutMs);
  process.stdout.write(opts.json ? JSON.stringify({ ...result, replay: d }) + "\n" : formatDescription(d));
  return d;
}

export function replayCommand(): Command {
  return new Command("replay")
    .description(
      "replay an import: in full (the landed file again) or only its rejected rows (as stored, or corrected with --file)",
    )
    .argument("<importId>", "the import to replay (a replay's id means its original)")
    .addOption(new Option("--mode <mode>", "full | errors-only").choices(["full", "errors-only"]).makeOptionMandatory())
    .option(
      "--file <csv>",
      "errors-only: corrected rows, the source's columns with a first column row_number (the row of the original file each one replaces)",
    )
    .option("--json", "one JSON object")
    .option("--stage <name>", "a deployed stage, through its console (after leadpipe login --stage NAME)")
    .option("--progress", "print chunks, rows and rows/s to stderr while waiting (the default on a terminal)")
    .action(
      async (
        importId: string,
        opts: { mode: Import.ReplayMode; file?: string; json?: boolean; progress?: boolean; stage?: string },
      ) => {
        if (opts.file && opts.mode !== "errors-only") throw new Error("--file goes with --mode errors-only");
        if (opts.file && !existsSync(opts.file)) throw new Error(`no such file: ${opts.file}`);
        if (opts.stage) {
          const r = await replayRemote(RemoteConsole.forStage(opts.stage), importId, opts);
          process.exitCode = r?.import.status === "FAILED" || r === undefined ? 1 : 0;
          return;
        }
        const platform = await LocalPlatform.start({ log: quietLog(opts.json) });
        try {
          const { row } = await replayImport(platform, importId, {
            ...opts,
            progress: opts.progress ?? (!opts.json && process.stderr.isTTY),
          });
          process.exitCode = row?.status === "FAILED" ? 1 : 0;
        } finally {
          await platform.close();
        }
      },
    );
}
