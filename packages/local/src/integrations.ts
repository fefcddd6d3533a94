import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Cron } from "croner";
import { Integrations } from "@leadpipe/core";
import { homePaths } from "./home";

/** `$LEADPIPE_HOME/integrations.json`: the local runtime's connections to Pipedrive and RingCentral. */
export function integrationsFile(home?: string): string {
  return path.join(homePaths(home).root, "integrations.json");
}

export function readIntegrations(home?: string): Integrations.Integrations {
  const file = integrationsFile(home);
  if (!existsSync(file)) return {};
  return Integrations.parseIntegrations(readFileSync(file, "utf8"), file);
}

/**
 * The local stand-in for the integrations' EventBridge Scheduler schedules: each system declared
 * in $LEADPIPE_HOME/integrations.json with a `schedule` (incremental) and/or `full_schedule` (the
 * full reconciliation) cron runs its sync in its `time_zone` (default UTC). A run still going when
 * the next is due is not doubled (croner's protect, and the one-running-sync index). Never keeps
 * the process alive.
 */
export interface IntegrationJob {
  system: Integrations.System;
  full: boolean;
  cron: string;
  timezone: string;
}

export function integrationJobs(connections: Integrations.Integrations): IntegrationJob[] {
  const jobs: IntegrationJob[] = [];
  for (const system of Integrations.SYSTEMS) {
    const c = connections[system] as { schedule?: unknown; full_schedule?: unknown; time_zone?: unknown } | undefined;
    if (!c) continue;
    const timezone = typeof c.time_zone === "string" ? c.time_zone : "UTC";
    if (typeof c.schedule === "string") jobs.push({ system, full: false, cron: c.schedule, timezone });
    if (typeof c.full_schedule === "string") jobs.push({ system, full: true, cron: c.full_schedule, timezone });
  }
  return jobs;
}

export function startIntegrationSchedules(
  connections: Integrations.Integrations,
  deps: Integrations.RunSyncDeps,
  log: (line: string) => void,
): { stop(): void; jobs: Cron[] } {
  const jobs = integrationJobs(connections).flatMap((job) => {
    const sync = Integrations.SYNCS[job.system];
    if (!sync) {
      log(`integration ${job.system}: no sync in this build, schedule ignored`);
      return [];
    }
    return [
      new Cron(job.cron, { timezone: job.timezone, unref: true, protect: true }, async () => {
        try {
          const r = await Integrations.runSync(deps, job.system, sync, connections, {
            trigger: "schedule",
            full: job.full,
            dryRun: false,
          });
          log(`${job.system} sync${job.full ? " (full)" : ""}: ${JSON.stringify(r)}`);
        } catch (err) {
          // a failed run is closed, recorded and alerted by runSync; a live one is left to finish
          log(`${job.system} sync${job.full ? " (full)" : ""} not done: ${(err as Error).message}`);
        }
      }),
    ];
  });
  return { jobs, stop: () => jobs.forEach((j) => j.stop()) };
}
