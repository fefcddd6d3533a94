import type { SourceSpec } from "./spec";
import { identifier, oneOf, rowSchema, dateOrTimestamp, channelField } from "./fields";
import { channelOf } from "../compliance/channels";
import { promotionTarget } from "./target";

export const consentEventsTarget = promotionTarget({
  kind: "consent_events",
  columns: ["customer_id", "channel", "consent_status", "event_ts"],
  key: ["customer_id", "channel", "event_ts", "consent_status"],
  promoteFn: "promote_consent_events",
});

/** Consent events: every event kept; the latest per customer and channel is in force (OPT_OUT wins a tie). */
export const consentEvents: SourceSpec = {
  name: "consent-events",
  partner: null,
  description: "Consent events (CSV): customer_id, channel, consent_status (OPT_IN / OPT_OUT), event_ts",
  schemaVersion: 1,
  fileName: /^consent_events.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    customer_id: "customer_id",
    channel: "channel",
    consent_status: "consent_status",
    event_ts: "event_ts",
  },
  row: rowSchema(
    {
      customer_id: identifier({ required: true }),
      channel: channelField({ required: true }),
      consent_status: oneOf(["OPT_IN", "OPT_OUT"], { required: true }),
      event_ts: dateOrTimestamp({ required: true }),
    },
    (r) => ({
      customer_id: r.customer_id,
      channel: channelOf(r.channel),
      consent_status: r.consent_status,
      event_ts: r.event_ts,
    }),
  ),
  target: consentEventsTarget,
};
