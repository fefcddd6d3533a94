import type { SourceSpec } from "./spec";
import { identifier, rowSchema, text, dateOrTimestamp } from "./fields";
import { suppressionsTarget } from "../compliance/targets";

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
