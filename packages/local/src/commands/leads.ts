import type { Writable } from "node:stream";
import { Command } from "commander";
import { Leads, createPool } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform } from "../platform";
import { readRuntime } from "../runtime-file";
import { quietLog } from "./ingest";

/** The running platform's database and bucket (npm start in another terminal), else a platform started for this command. */
async function withPlatformDeps<T>(json: boolean | undefined, fn: (deps: Leads.HandoffDeps) => Promise<T>): Promise<T> {
  const running = readRuntime();
  if (running) {
    const pool = createPool(running.databaseUrl, 2);
    try {
      return await fn({ pool, store: s3Store(createS3Client(running.s3Endpoint)), bucket: running.bucket });
    } finally {
      await pool.end();
    }
  }
  const platform = await LocalPlatform.start({ log: quietLog(json) });
  try {
    return await fn({ pool: platform.pool, store: s3Store(platform.s3), bucket: platform.bucket });
  } finally {
    await platform.close();
  }
}

export function describeHandoff(r: Leads.HandoffResult): string {
  const what = r.created ? "handed off" : "already handed off; the same file was written again:";
  const optedOut = r.optedOut > 0 ? ` (${r.optedOut} lead(s) held back: the caller opted out of calls)` : "";
  return `${r.day}: ${what} ${r.leads} lead(s) → s3://${r.bucket}/${r.key}${optedOut}\n`;
}

export function leadsCommand(out: Writable = process.stdout): Command {
  const handoff = new Command("handoff")
    .description("write the day's hand-off file of new leads for the insurance agency to outbox/leads/<day>/ (a lead is never handed off twice)")
    .option("--day <YYYY-MM-DD>", "the hand-off day (default: today, UTC)")
    .option("--json", "print the result as JSON")
    .action(async (opts: { day?: string; json?: boolean }) => {
      const day = opts.day ?? new Date().toISOString().slice(0, 10);
      const result = await withPlatformDeps(opts.json, (deps) => Leads.handoff(deps, day));
      out.write(opts.json ? `${JSON.stringify(result)}\n` : describeHandoff(result));
    });
  return new Command("leads").description("leads from the call center's interested callers").addCommand(handoff);
}
