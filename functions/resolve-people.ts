import middy from "@middy/core";
import { People } from "@leadpipe/core";
import { platform } from "./platform";

/**
 * The people consumer: invoked when an ingest execution succeeds (EventBridge) and on a
 * schedule; resolves every landed import whose people are not resolved yet, oldest first.
 */
export const handler = middy(async () => {
  const { resolved, failed, remaining } = await People.resolvePending(await platform(), { limit: 50 });
  const counts = resolved.map((r) => ({ importId: r.importId, records: r.people?.records ?? 0 }));
  return { resolved: counts, failed, remaining };
});
