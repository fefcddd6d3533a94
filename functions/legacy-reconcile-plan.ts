import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform } from "./platform";

/**
 * Plans a run's reconciliation: one item per checkpointed range under a new check id, written as a JSON
 * array beside the run's manifest for the reconcile Map's ItemReader. Reads the checkpoints, not the source.
 */
export const handler = middy(async (event: { run_id: string }) => {
  const deps = await platform();
  const { check_id, items } = await Migration.planChecks(deps.pool, event.run_id);
  const key = Migration.checksKey(event.run_id, check_id);
  await deps.store.write(deps.settings.bucket, key, JSON.stringify(items), "application/json");
  deps.log.info("migration reconciliation planned", { run_id: event.run_id, check_id, items: items.length, key });
  return { bucket: deps.settings.bucket, key, count: items.length, check_id, results: Migration.resultsPrefix(key) };
});
