import type { Writable } from "node:stream";
import { Command } from "commander";
import { Leads } from "@leadpipe/core";
import { quietLog, withConnection, type Connection } from "./connect";

/** A hand-off and the plain file it is mirrored to under LEADPIPE_HOME. */
export interface HandedOff extends Leads.HandoffResult {
  local_path: string | null;
}

/** Writes the day's hand-off through the connection and mirrors the file. */
export async function handoffDay(c: Connection, day: string): Promise<HandedOff> {
  const result = await Leads.handoff(c.deps, day);
  return { ...result, local_path: (await c.mirror(result.key)) ?? null };
}

export function describeHandoff(r: HandedOff): string {
  const what = r.created ? "handed off" : "already handed off; the same file was written again:";
  const optedOut = r.optedOut > 0 ? ` (${r.optedOut} lead(s) held back: the caller opted out of calls)` : "";
  const local = r.local_path ? `  ${r.local_path}` : "";
  return `${r.day}: ${what} ${r.leads} lead(s) → s3://${r.bucket}/${r.key}${local}${optedOut}\n`;
}

export function leadsCommand(out: Writable = process.stdout, connectTo?: () => Promise<Connection>): Command {
  const handoff = new Command("handoff")
    .description(
      "write the day's hand-off file of new leads for the insurance agency to outbox/leads/<day>/ (a lead is never handed off twice)",
    )
    .option("--day <YYYY-MM-DD>", "the hand-off day (default: today, UTC)")
    .option("--json", "print the result as JSON")
    .action(async (opts: { day?: string; json?: boolean }) => {
      const day = opts.day ?? new Date().toISOString().slice(0, 10);
      const result = await withConnection(quietLog(opts.json), (c) => handoffDay(c, day), connectTo);
      out.write(opts.json ? `${JSON.stringify(result)}\n` : describeHandoff(result));
    });
  return new Command("leads").description("leads from the call center's interested callers").addCommand(handoff);
}
