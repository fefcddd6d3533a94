import { code } from "./fields";
import { promotionTarget, sqlRule } from "./target";

/**
 * Delivery confirmations of every partner: the ledger delivery_events and each piece's first
 * delivery in mail_piece_deliveries (sql/functions/deliveries.sql). An event for another
 * partner's piece is a rejected row (the promotion skips it; delivery_rejects says why).
 */
export const deliveriesTarget = promotionTarget({
  kind: "deliveries",
  columns: ["tracking_code", "routing_code", "imb_raw", "event_at", "event_code"],
  key: ["tracking_code", "event_at", "event_code"],
  promoteFn: "promote_deliveries",
  refuse: { when: "after", rule: sqlRule("SELECT source_row, field, value, reason FROM delivery_rejects($1, $2)") },
});

/** What every delivery spec's row becomes (the staging_deliveries columns). */
export function deliveryRow(
  imb: { tracking: string; routing: string; raw: string } | null,
  eventAt: string | null,
  eventCode: string | null,
) {
  return {
    tracking_code: imb?.tracking ?? null,
    routing_code: imb?.routing || null,
    imb_raw: imb?.raw ?? null,
    event_at: eventAt,
    event_code: eventCode,
  };
}

/** A USPS operation code: three digits. */
export const operationCode = () => code(/^\d{3}$/, "a 3-digit USPS operation code", { required: true });

/** A delivery status as text ("Delivered", "DELIVERED - MAILBOX"), upper-cased. */
export const deliveryStatus = () =>
  code(/^[A-Za-z][A-Za-z0-9 ,./-]{0,59}$/, "a delivery status such as DELIVERED", { required: true });
