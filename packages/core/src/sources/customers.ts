import type { SourceSpec } from "./spec";
import { phoneE164, flag, identifier, rowSchema, text, dateOrTimestamp, usState } from "./fields";
import { promotionTarget } from "./target";

export const customersTarget = promotionTarget({
  kind: "customers",
  columns: ["customer_id", "email", "phone", "home_state", "loyalty_tier", "is_active", "updated_at"],
  key: ["customer_id", "updated_at"],
  promoteFn: "promote_customers",
});

/**
 * Customer snapshots from the CRM: several per customer, the latest updated_at wins
 * (customers_as_of in sql/functions/audience_rules.sql). The e-mail is kept as written
 * (lower-cased): whether it is usable is the audience rule's call, so a row is never lost
 * over it. phone is optional (the call and sms channels' contact point).
 */
export const customers: SourceSpec = {
  name: "customers",
  partner: null,
  description: "Customer snapshots (CSV): customer_id, email, home_state, loyalty_tier, is_active, updated_at",
  schemaVersion: 1,
  fileName: /^customers.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    customer_id: "customer_id",
    email: "email",
    home_state: "home_state",
    loyalty_tier: "loyalty_tier",
    is_active: "is_active",
    updated_at: "updated_at",
    phone: "phone",
  },
  optionalColumns: ["phone"],
  row: rowSchema(
    {
      customer_id: identifier({ required: true }),
      email: text({ max: 254 }),
      home_state: usState(),
      loyalty_tier: text({ max: 40 }),
      is_active: flag({ required: true }),
      updated_at: dateOrTimestamp({ required: true }),
      phone: phoneE164(),
    },
    (r) => ({
      customer_id: r.customer_id,
      email: r.email?.toLowerCase() ?? null,
      phone: r.phone,
      home_state: r.home_state,
      loyalty_tier: r.loyalty_tier,
      is_active: r.is_active,
      updated_at: r.updated_at,
    }),
  ),
  target: customersTarget,
};
