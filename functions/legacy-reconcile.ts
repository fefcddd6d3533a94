import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/**
 * Reads the run's source again and reconciles it with what landed (the manifest), then closes the run:
 * touchpoints follow their people, the manifest is written beside the reports. Returns the summary
 * without the differences (the manifest object holds them).
 */
export const handler = middy(async (event: { run_id: string }) => {
  const deps = await platform();
  return withLegacyReader(async (reader) => {
    const manifest = await Migration.reconcile(deps.pool, reader, event.run_id);
    const key = await Migration.closeRun(deps, manifest);
    const { tables, ...summary } = Migration.summary(manifest);
    deps.log.info("migration reconciled", { ...summary, manifest: key });
    return { ...summary, manifest_key: key, tables: tables.map(({ differences: _d, ...t }) => t) };
  });
});
