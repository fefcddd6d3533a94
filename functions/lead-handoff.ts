import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { Leads } from "@leadpipe/core";
import { destinations, platform } from "./platform";

/**
 * Daily (EventBridge schedule): the hand-off file of new leads for the day the schedule fired
 * (UTC), or `day` when invoked by hand, delivered to each outbound destination exactly once. A
 * failed delivery is alerted by the use case and sent again by the next run, so it does not fail
 * the function (a retried invocation would alert it again).
 */
export const handler = middy(async (event: Partial<ScheduledEvent> & { day?: string }) => {
  const deps = await platform();
  const day = event.day ?? (event.time ?? new Date().toISOString()).slice(0, 10);
  const { specs, open } = destinations();
  const result = await Leads.handoffAndDeliver(
    { pool: deps.pool, store: deps.store, bucket: deps.settings.bucket },
    day,
    { destinations: specs, open, notifier: deps.notifier, log: deps.log },
  );
  const { deliveries, ...file } = result;
  deps.log.info("leads handed off", {
    ...file,
    deliveries: deliveries.map((d) => `${d.destination} ${d.outcome} ${d.remote_path}`),
  });
  return result;
});
