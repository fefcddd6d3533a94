import middy from "@middy/core";
import { Audience } from "@leadpipe/core";
import { platform } from "./platform";

/**
 * Publishes a campaign's audience for a channel and day, the same use case as
 * `leadpipe audience publish`. Invoked on demand ({campaign, channel, asOf?, dryRun?}) or by a
 * campaign's EventBridge schedule (stacks/config.ts, audienceSchedules), whose input carries the
 * event's time: the audience is then for that UTC day.
 */
export interface PublishAudienceEvent {
  campaign: string;
  channel: string;
  asOf?: string;
  dryRun?: boolean;
  /** The schedule's event time (ISO 8601), when asOf is not given. */
  time?: string;
}

export const handler = middy(async (event: PublishAudienceEvent) => {
  const deps = await platform();
  const asOf = event.asOf ?? (event.time ?? new Date().toISOString()).slice(0, 10);
  const p = await Audience.publishAudience(deps, {
    campaign: event.campaign,
    channel: event.channel,
    asOf,
    dryRun: event.dryRun,
  });
  // The waterfall and files, not the timings: the same summary the CLI prints with --json.
  return {
    audience_file: p.audience_file,
    reconciliation_file: p.reconciliation_file,
    rows: p.rows,
    waterfall: p.waterfall,
    touchpoints_added: p.touchpoints_added,
    touchpoints_withdrawn: p.touchpoints_withdrawn,
    priority_conflicts: p.priority_conflicts,
  };
});
