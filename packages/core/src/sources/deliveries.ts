import { code } from "./fields";

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
