import type { Writable } from "node:stream";
import { Command } from "commander";
import { Audience } from "@leadpipe/core";
import { connect, quietLog, type Connection } from "./connect";
import { keyOfUrl } from "../mirror";

/** A publication and the plain files it is mirrored to under LEADPIPE_HOME. */
interface Published extends Audience.Publication {
  local_path: string | null;
  reconciliation_local_path: string | null;
}

function summary(p: Published): string {
  const width = Math.max(...p.waterfall.map((s) => s.step.length));
  return [
    `${p.dry_run ? "DRY RUN: " : ""}audience ${p.campaign} / ${p.channel} as of ${p.as_of}: ${p.rows} rows`,
    ...p.waterfall.map(
      (s) =>
        `  ${s.step.padEnd(width)}  ${String(s.remaining).padStart(10)} remaining  ${String(s.excluded ? -s.excluded : "").padStart(10)}`,
    ),
    `  audience:       ${p.audience_file}${p.local_path ? `  ${p.local_path}` : ""}`,
    `  reconciliation: ${p.reconciliation_file}${p.reconciliation_local_path ? `  ${p.reconciliation_local_path}` : ""}`,
    p.dry_run
      ? "  nothing recorded (dry run)"
      : `  touchpoints: ${p.touchpoints_added} added, ${p.touchpoints_withdrawn} withdrawn`,
    ...p.priority_conflicts.map(
      (c) =>
        `  WARNING: ${c.campaign} (priority ${c.priority}) was published earlier today with ${c.touchpoints} of these people: publish it again to withdraw them`,
    ),
  ].join("\n");
}

export function audienceCommand(io: { stdout?: Writable; connect?: () => Promise<Connection> } = {}): Command {
  const stdout = io.stdout ?? process.stdout;
  const audience = new Command("audience").description(
    "compliant audiences for the next mail, call, e-mail or SMS wave",
  );
  audience
    .command("publish")
    .description("publish a campaign's audience for a channel and day to the outbox, with the exclusion waterfall")
    .requiredOption("--campaign <name>", "campaign (built in: recent-bookers)")
    .requiredOption("--channel <channel>", "email, call, sms or mail")
    .option("--as-of <YYYY-MM-DD>", "the day the audience is for (default: today, UTC)")
    .option("--dry-run", "write the files under dry-run/ and record nothing")
    .option(
      "--json",
      "print {audience_file, local_path, reconciliation_file, reconciliation_local_path, rows, " + "waterfall}",
    )
    .action(async (opts: { campaign: string; channel: string; asOf?: string; dryRun?: boolean; json?: boolean }) => {
      const c = await (io.connect ?? (() => connect(quietLog(true))))();
      try {
        const published = await Audience.publishAudience(c.deps, {
          campaign: opts.campaign,
          channel: opts.channel,
          asOf: opts.asOf ?? new Date().toISOString().slice(0, 10),
          dryRun: opts.dryRun,
        });
        const { bucket } = c.deps.settings;
        const p: Published = {
          ...published,
          local_path: (await c.mirror(keyOfUrl(published.audience_file, bucket))) ?? null,
          reconciliation_local_path: (await c.mirror(keyOfUrl(published.reconciliation_file, bucket))) ?? null,
        };
        stdout.write(
          opts.json
            ? JSON.stringify({
                audience_file: p.audience_file,
                local_path: p.local_path,
                reconciliation_file: p.reconciliation_file,
                reconciliation_local_path: p.reconciliation_local_path,
                rows: p.rows,
                waterfall: p.waterfall,
              }) + "\n"
            : summary(p) + "\n",
        );
      } finally {
        await c.close();
      }
    });
  return audience;
}
