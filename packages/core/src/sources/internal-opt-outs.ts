import type { SourceSpec } from "./spec";
import { rowSchema, text, dateOrTimestamp } from "./fields";
import { channelField, channelOf } from "../compliance/channels";
import { optOutsTarget } from "../compliance/targets";

/**
 * The internal opt-out list: channel, value (a phone for call/sms, an e-mail for email; either
 * for mail), time, reason → opt_outs with origin 'internal'. The value is normalized by
 * opt_out_value() in SQL (E.164 phone, lower-cased e-mail), the rule every opt-out path shares;
 * a value that is not a contact point of its channel is rejected on the value field.
 */
export const internalOptOuts: SourceSpec = {
  name: "internal-opt-outs",
  partner: null,
  description: "Internal opt-out list (CSV): channel, value, opted_out_at, reason",
  schemaVersion: 1,
  fileName: /^(internal[-_])?opt[-_]?outs.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: { channel: "channel", value: "value", opted_out_at: "opted_out_at", reason: "reason" },
  row: rowSchema(
    {
      channel: channelField({ required: true }),
      value: text({ required: true, max: 254 }),
      opted_out_at: dateOrTimestamp({ required: true }),
      reason: text({ max: 200 }),
    },
    (r) => ({ channel: channelOf(r.channel), value: r.value, opted_out_at: r.opted_out_at, reason: r.reason }),
  ),
  target: optOutsTarget,
};
