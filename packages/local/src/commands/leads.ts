import type { Writable } from "node:stream";
import { Command } from "commander";
import { Leads } from "@leadpipe/core";
import { openTransport } from "@leadpipe/core/adapters/pullers";
import { readPullers } from "../pullers";
import { quietLog, withConnection, type Connection } from "./connect";

/** A hand-off, the plain file it is mirrored to under LEADPIPE_HOME, and its deliveries. */
export interface HandedOff extends Leads.DeliveredHandoff {
  local_path: string | null;
}

/**
 * Writes the day's hand-off through the connection, mirrors the file, and delivers it to the
 * outbound destinations of pullers.json (`direction: "push"`), each exactly once.
 */
export async function handoffDay(c: Connection, day: string): Promise<HandedOff> {
  const result = await Leads.handoffAndDeliver(c.deps, day, {
    destinations: readPullers(c.home),
    open: (spec) => openTransport(spec),
  });
  return { ...result, local_path: (await c.mirror(result.key)) ?? null };
}

export function describeHandoff(r: HandedOff): string {
  const what = r.created ? "handed off" : "already handed off; the same file was written again:";
  const optedOut = r.optedOut > 0 ? ` (${r.optedOut} lead(s) held back: the caller opted out of calls)` : "";
  const local = r.local_path ? `  ${r.local_path}` : "";
  const sent = r.deliveries.map(
    (d) =>
      `  ${d.destination}: ${d.outcome} ${d.remote_path}${d.reason ? ` (${d.reason})` : d.answer ? ` (${d.answer})` : ""}\n`,
  );
  return `${r.day}: ${what} ${r.leads} lead(s) → s3://${r.bucket}/${r.key}${local}${optedOut}\n${sent.join("")}`;
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
      // The file is written either way; a failed delivery was alerted and is sent again by the next run.
      if (result.deliveries.some((d) => d.outcome === "failed")) process.exitCode = 1;
    });
  return new Command("leads").description("leads from the call center's interested callers").addCommand(handoff);
}
