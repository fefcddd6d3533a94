import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/**
 * Plans a phase of a run: its (table, key range) items, written as a JSON array beside the run's
 * manifest for the Distributed Map's ItemReader (an item list of any length stays out of the state's payload),
 * and where the Map's ResultWriter puts the items' outputs (their results stay out of it too).
 */
export const handler = middy(async (event: { run_id: string; phase: string }) => {
  const deps = await platform();
  const phase = Migration.phaseOf(event.phase);
  return withLegacyReader(async (reader) => {
    const run = await Migration.resumableRun(deps.pool, reader, event.run_id);
    const { items, next } = await Migration.planPhase(deps.pool, reader, run, phase);
    const key = Migration.itemsKey(run.run_id, phase);
    await deps.store.write(deps.settings.bucket, key, JSON.stringify(items), "application/json");
    deps.log.info("migration phase planned", { run_id: run.run_id, phase, items: items.length, key });
    return {
      bucket: deps.settings.bucket,
      key,
      count: items.length,
      next_phase: next,
      results: Migration.resultsPrefix(key),
    };
  });
});
