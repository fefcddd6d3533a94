import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/**
 * One item of the reconcile Map: a range read again from the source and compared with what landed,
 * its check stored per range (idempotent: a retried item replaces its row). The differences stay in
 * PostgreSQL; the answer is their count.
 */
export const handler = middy(async (item: Migration.CheckItem) => {
  const deps = await platform();
  return withLegacyReader(async (reader) => {
    const { differences, refused: _r, ...c } = await Migration.checkRangeItem(deps.pool, reader, item);
    const out = { ...c, differences: differences.length };
    deps.log.info("migration range reconciled", { run_id: item.run_id, check_id: item.check_id, ...out });
    return out;
  });
});
