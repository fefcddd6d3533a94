import type { Writable } from "node:stream";
import { Command } from "commander";
import { Audience, createLogger, createPool, type Deps } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform } from "../platform";
import { readRuntime } from "../runtime-file";

type AudienceDeps = Pick<Deps, "pool" | "store" | "settings" | "log">;
export interface Connection {
  deps: AudienceDeps;
  close(): Promise<void>;
}

/** The running platform's database and bucket (npm start in another terminal), else a platform started for this command. */
async function connect(): Promise<Connection> {
  const log = createLogger({ service: "leadpipe-cli" });
  const running = readRuntime();
  if (running) {
    const pool = createPool(running.databaseUrl, 2);
    const deps = { pool, store: s3Store(createS3Client(running.s3Endpoint)), log, settings: { bucket: running.bucket, chunkRows: 0, maxFileBytes: 0 } };
    return { deps, close: () => pool.end() };
  }
  const platform = await LocalPlatform.start({ log: (line) => { if (line.startsWith("ALERT")) process.stderr.write(line + "\n"); } });
  const deps = { pool: platform.pool, store: s3Store(platform.s3), log, settings: { bucket: platform.bucket, chunkRows: 0, maxFileBytes: 0 } };
  return { deps, close: () => platform.close() };
}

function summary(p: Audience.Publication): string {
  const width = Math.max(...p.waterfall.map((s) => s.step.length));
  return [
    `${p.dry_run ? "DRY RUN: " : ""}audience ${p.campaign} / ${p.channel} as of ${p.as_of}: ${p.rows} rows`,
    ...p.waterfall.map((s) => `  ${s.step.padEnd(width)}  ${String(s.remaining).padStart(10)} remaining  ${String(s.excluded ? -s.excluded : "").padStart(10)}`),
    `  audience:       ${p.audience_file}`,
    `  reconciliation: ${p.reconciliation_file}`,
    p.dry_run ? "  nothing recorded (dry run)" : `  touchpoints: ${p.touchpoints_added} added, ${p.touchpoints_withdrawn} withdrawn`,
    ...p.priority_conflicts.map((c) =>
      `  WARNING: ${c.campaign} (priority ${c.priority}) was published earlier today with ${c.touchpoints} of these people: publish it again to withdraw them`),
  ].join("\n");
}

export function audienceCommand(io: { stdout?: Writable; connect?: () => Promise<Connection> } = {}): Command {
  const stdout = io.stdout ?? process.stdout;
  const audience = new Command("audience").description("compliant audiences for the next mail, call, e-mail or SMS wave");
  audience.command("publish")
    .description("publish a campaign's audience for a channel and day to the outbox, with the exclusion waterfall")
    .requiredOption("--campaign <name>", "campaign (built in: recent-bookers)")
    .requiredOption("--channel <channel>", "email, call, sms or mail")
    .option("--as-of <YYYY-MM-DD>", "the day the audience is for (default: today, UTC)")
    .option("--dry-run", "write the files under dry-run/ and record nothing")
    .option("--json", "print {audience_file, reconciliation_file, rows, waterfall}")
    .action(async (opts: { campaign: string; channel: string; asOf?: string; dryRun?: boolean; json?: boolean }) => {
      const c = await (io.connect ?? connect)();
      try {
        const p = await Audience.publishAudience(c.deps, {
          campaign: opts.campaign, channel: opts.channel, asOf: opts.asOf ?? new Date().toISOString().slice(0, 10), dryRun: opts.dryRun,
        });
        stdout.write(opts.json
          ? JSON.stringify({ audience_file: p.audience_file, reconciliation_file: p.reconciliation_file, rows: p.rows, waterfall: p.waterfall }) + "\n"
          : summary(p) + "\n");
      } finally {
        await c.close();
      }
    });
  return audience;
}
