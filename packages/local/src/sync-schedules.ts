import { Cron } from "croner";
import { ConfigError, Integrations } from "@leadpipe/core";

/**
 * The local stand-in for the syncs' EventBridge Scheduler schedules: each connection of
 * integrations.json with a "schedule" (the incremental sync) and/or a "full_schedule" (the full
 * reconciliation), five-field crons, runs its sync on them in its "timezone" (IANA, default UTC;
 * croner keeps wall-clock time across daylight saving). A run still going when
 * the next is due is not doubled (croner's protect, and the one-live-run rule of the runs table).
 * Never keeps the process alive.
 */
export type SyncScheduleDeps = Integrations.RunSyncDeps & Required<Pick<Integrations.RunSyncDeps, "objects">>;

export interface ScheduledSync {
  system: Integrations.System;
  full: boolean;
  cron: Cron;
}

/** The schedules declared in `connections` (paused: `start` runs them); a bad cron or zone is a ConfigError naming it. */
export function syncSchedules(
  connections: Integrations.Integrations,
  where: string,
  run: (system: Integrations.System, full: boolean) => Promise<void>,
): ScheduledSync[] {
  const out: ScheduledSync[] = [];
  for (const system of Integrations.SYSTEMS) {
    const conn = connections[system] as { schedule?: unknown; full_schedule?: unknown; timezone?: unknown } | undefined;
    if (!conn || !Integrations.SYNCS[system]) continue;
    const { timezone = "UTC" } = conn;
    for (const [field, full] of [
      ["schedule", false],
      ["full_schedule", true],
    ] as const) {
      const pattern = conn[field];
      if (pattern === undefined) continue;
      if (typeof pattern !== "string" || typeof timezone !== "string")
        throw new ConfigError(`${where}: ${system}.${field} and .timezone must be strings`);
      try {
        const cron = new Cron(pattern, { timezone, unref: true, protect: true, paused: true }, () => run(system, full));
        out.push({ system, full, cron });
      } catch (err) {
        throw new ConfigError(`${where}: ${system}.${field} "${pattern}" in ${timezone}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

export function startSyncSchedules(
  connections: Integrations.Integrations,
  where: string,
  deps: SyncScheduleDeps,
): { stop(): void } {
  const jobs = syncSchedules(connections, where, async (system, full) => {
    try {
      await Integrations.runSync(deps, system, Integrations.SYNCS[system]!, connections, {
        trigger: "schedule",
        full,
        dryRun: false,
      });
    } catch (err) {
      // a failed run is recorded and alerted by runSync; a live one elsewhere is only skipped
      deps.log.warn("scheduled sync did not complete", { system, full, reason: (err as Error).message });
    }
  });
  for (const j of jobs) j.cron.resume();
  return { stop: () => jobs.forEach((j) => j.cron.stop()) };
}
