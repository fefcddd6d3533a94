import type { SourceSpec } from "./spec";
import { rowSchema, text, dateOrTimestamp, channelField } from "./fields";
import { channelOf } from "../compliance/channels";
import { promotionTarget, queryRule } from "./target";

export const optOutsTarget = promotionTarget({
  kind: "opt_outs",
  columns: ["channel", "value", "opted_out_at", "reason"],
  key: ["channel", "value", "opted_out_at"],
  promoteFn: "promote_internal_opt_outs",
  refuse: {
    when: "before",
    rule: queryRule<{ source_row: number; channel: string; value: string }>(
      "SELECT * FROM opt_out_value_conflicts($1, $2)",
      (r) => ({
        field: "value",
        value: r.value,
        reason:
          r.channel === "email"
            ? "expected an e-mail address for channel email"
            : r.channel === "mail"
              ? "expected an e-mail address or a US phone number for channel mail"
              : `expected a US phone number with 10 digits for channel ${r.channel}`,
      }),
    ),
  },
});

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
