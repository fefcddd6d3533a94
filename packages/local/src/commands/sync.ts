import type { Writable } from "node:stream";
import { Command } from "commander";
import { Integrations } from "@leadpipe/core";
import { fileCredentials } from "../credentials";
import { integrationsFile, readIntegrations } from "../integrations";
import { fileNotifier } from "../pullers";
import { connect, quietLog } from "./connect";

export { integrationsFile, readIntegrations };

/** `leadpipe sync pipedrive|ringcentral [--full] [--dry-run] [--json]` (issue 23). */
export function syncCommand(out: Writable = process.stdout): Command {
  return new Command("sync")
    .description("sync an external system: Pipedrive (persons, deals) or RingCentral (call logs)")
    .argument("<system>", `one of ${Integrations.SYSTEMS.join(", ")}`)
    .option("--full", "read everything again (a full reconciliation), not only what changed since the last run")
    .option("--dry-run", "read and compare, write nothing (neither here nor there)")
    .option("--json", "end with one JSON object: {system, run_id, read, created, updated, unchanged, ...}")
    .action(async (system: string, opts: { full?: boolean; dryRun?: boolean; json?: boolean }) => {
      if (!(Integrations.SYSTEMS as readonly string[]).includes(system))
        throw new Error(`unknown system "${system}": one of ${Integrations.SYSTEMS.join(", ")}`);
      const sys = system as Integrations.System;
      const sync = Integrations.SYNCS[sys];
      if (!sync) throw new Error(`the ${sys} sync is not available in this build`);
      // the connection is checked before any database starts
      const connections = readIntegrations();
      Integrations.connectionOf(connections, sys, integrationsFile());
      const conn = await connect(quietLog(opts.json));
      try {
        const result = await Integrations.runSync(
          {
            pool: conn.deps.pool,
            log: conn.deps.log,
            notifier: fileNotifier(),
            objects: { store: conn.deps.store, bucket: conn.deps.settings.bucket },
            credentials: fileCredentials(),
          },
          sys,
          sync,
          connections,
          { trigger: "cli", full: Boolean(opts.full), dryRun: Boolean(opts.dryRun) },
        );
        if (opts.json) out.write(JSON.stringify(result) + "\n");
        else
          out.write(
            `${sys} sync ${result.run_id}: read ${result.read}, created ${result.created}, updated ${result.updated}, ` +
              `unchanged ${result.unchanged}, deleted ${result.deleted}, failed ${result.failed}, ` +
              `requests ${result.requests}\n`,
          );
        if (result.failed > 0) process.exitCode = 1;
      } finally {
        await conn.close();
      }
    });
}
