import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/** One item of the Distributed Map: a table's key range, landed as a CLI lane lands it (checkpointed, idempotent). */
export const handler = middy(async (item: Migration.RangeItem) => {
  const deps = await platform();
  if (typeof item?.run_id !== "string" || typeof item.table !== "string" || !Number.isInteger(item.range_no))
    throw new Error(`not a range item: ${JSON.stringify(item)}`);
  return withLegacyReader(async (reader) => {
    const bucket = deps.settings.bucket;
    const r = await Migration.landItem(
      { pool: deps.pool, reader, land: (key, body) => deps.store.write(bucket, key, body, "text/csv") },
      item,
    );
    deps.log.info("migration range", { run_id: item.run_id, table: item.table, range_no: item.range_no, ...r });
    return { table: item.table, range_no: item.range_no, ...r };
  });
});
