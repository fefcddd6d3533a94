import type { SourceSpec } from "./spec";
import { identifier, rowSchema, text, dateOrTimestamp } from "./fields";
import { promotionTarget, queryRule } from "./target";

export const suppressionsTarget = promotionTarget({
  kind: "suppressions",
  columns: ["customer_id", "reason", "suppressed_at", "expires_at"],
  key: ["customer_id", "reason", "suppressed_at"],
  promoteFn: "promote_suppressions",
  refuse: {
    when: "before",
    rule: queryRule<{ source_row: number; expires_at: Date; suppressed_at: Date }>(
      "SELECT * FROM suppression_conflicts($1, $2)",
      (r) => ({
        field: "expires_at",
        value: r.expires_at.toISOString(),
        reason: `expires_at must be after suppressed_at (${r.suppressed_at.toISOString()})`,
      }),
    ),
  },
});

/** Suppressions: a customer not to be contacted on any channel from suppressed_at until expires_at (blank: never expires). */
export const suppressions: SourceSpec = {
  name: "suppressions",
  partner: null,
  description: "Suppressions (CSV): customer_id, reason, suppressed_at, expires_at (blank = no expiry)",
  schemaVersion: 1,
  fileName: /^suppressions.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    customer_id: "customer_id",
    reason: "reason",
    suppressed_at: "suppressed_at",
    expires_at: "expires_at",
  },
  row: rowSchema(
    {
      customer_id: identifier({ required: true }),
      reason: text({ required: true, max: 200 }),
      suppressed_at: dateOrTimestamp({ required: true }),
      expires_at: dateOrTimestamp(),
    },
    (r) => ({ ...r }),
  ),
  target: suppressionsTarget,
};
