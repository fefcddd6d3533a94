import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { existsSync, readFileSync } from "node:fs";
import { Leads, Pullers, config } from "@leadpipe/core";
import { openTransport, secretsManagerReader } from "@leadpipe/core/adapters/pullers";
import { platform } from "./platform";

/**
 * The outbound destinations (`direction: "push"`) of this runtime and how to open them: in AWS
 * from LEAD_DELIVERIES (credentials from Secrets Manager); locally from the pullers.json named by
 * PULLERS_FILE, read at each call (credentials from the file).
 */
function destinations(): { specs: Pullers.PullerSpec[]; open(spec: Pullers.PullerSpec): Promise<Pullers.Transport> } {
  const c = config();
  const specs = c.PULLERS_FILE
    ? existsSync(c.PULLERS_FILE)
      ? Pullers.parsePullers(readFileSync(c.PULLERS_FILE, "utf8"), c.PULLERS_FILE)
      : []
    : c.LEAD_DELIVERIES
      ? Pullers.parsePullers(c.LEAD_DELIVERIES, "LEAD_DELIVERIES")
      : [];
  const readSecret = c.PULLERS_FILE ? undefined : secretsManagerReader(c.AWS_REGION);
  return { specs: specs.filter((s) => s.direction === "push"), open: (spec) => openTransport(spec, readSecret) };
}

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
  const result = await Leads.handoffAndDeliver(deps, day, { destinations: specs, open });
  const { deliveries, ...file } = result;
  deps.log.info("leads handed off", {
    ...file,
    deliveries: deliveries.map((d) => `${d.destination} ${d.outcome} ${d.remote_path}`),
  });
  return result;
});
