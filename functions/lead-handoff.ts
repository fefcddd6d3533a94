import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { Leads } from "@leadpipe/core";
import { platform } from "./platform";

/** Daily (EventBridge schedule): the hand-off file of new leads for the day the schedule fired (UTC), or `day` when invoked by hand. */
export const handler = middy(async (event: Partial<ScheduledEvent> & { day?: string }) => {
  const deps = await platform();
  const day = event.day ?? (event.time ?? new Date().toISOString()).slice(0, 10);
  const result = await Leads.handoff(deps, day);
  deps.log.info("leads handed off", { ...result });
  return result;
});
