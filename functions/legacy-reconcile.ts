import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/**
 * Sums a reconciliation's range checks (the reconcile Map's items) per table into the manifest, then
 * closes the run: touchpoints follow their people, the manifest is written beside the reports. Returns
 * the summary without the differences (the manifest object holds them). The source is read for its
 * catalogue only (the run's tables, a CSV's checksum), not its rows.
 */
export const handler = middy(async (event: { run_id: string; check_id: string }) => {
  const deps = await platform();
  if (typeof event?.check_id !== "string") throw new Error(`not a reconciliation: ${JSON.stringify(event)}`);
  return withLegacyReader(async (reader) => {
    const manifest = await Migration.sumChecks(deps.pool, reader, event.run_id, event.check_id);
    const key = await Migration.closeRun(deps, manifest);
    const { tables, ...summary } = Migration.summary(manifest);
    deps.log.info("migration reconciled", { ...summary, manifest: key });
    return { ...summary, manifest_key: key, tables: tables.map(({ differences: _d, ...t }) => t) };
  });
});
