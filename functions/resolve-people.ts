import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { config, People } from "@leadpipe/core";
import { platform } from "./platform";

/**
 * Time the consumer keeps back at the end of its invocation: it starts no batch later than this before Lambda's limit
 * (a batch of 50,000 records against a million people takes well under it).
 */
export const RESERVE_MS = 5 * 60_000;

/**
 * The people consumer: invoked when an ingest execution succeeds and on a schedule (through the people loop,
 * stacks/people.asl.json, which invokes it again while anything remains); resolves every landed import whose people
 * are not resolved yet, oldest first, and stops between two batches when its time runs short.
 */
export const handler = middy(async (_event: unknown, context: Context) => {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS;
  const maxCandidates = config().PEOPLE_MAX_CANDIDATES;
  const { resolved, failed, remaining, paused, more } = await People.resolvePending(await platform(), {
    limit: 50,
    deadline,
    ...(maxCandidates ? { maxCandidates } : {}),
  });
  const counts = resolved.map((r) => ({ importId: r.importId, records: r.people?.records ?? 0 }));
  return { resolved: counts, failed, remaining, paused, more };
});
