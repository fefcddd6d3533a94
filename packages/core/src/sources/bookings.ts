import type { SourceSpec } from "./spec";
import { date, identifier, money, oneOf, rowSchema, text } from "./fields";
import { promotionTarget } from "./target";

export const bookingsTarget = promotionTarget({
  kind: "bookings",
  columns: [
    "booking_id",
    "customer_id",
    "booking_date",
    "booking_amount",
    "booking_status",
    "product_name",
    "source_system",
  ],
  key: ["booking_id"],
  promoteFn: "promote_bookings",
});

/** Bookings: one row per booking id, the newest delivery wins. Only COMPLETED bookings count for audiences. */
export const bookings: SourceSpec = {
  name: "bookings",
  partner: null,
  description:
    "Bookings (CSV): booking_id, customer_id, booking_date, booking_amount, booking_status, product_name, source_system",
  schemaVersion: 1,
  fileName: /^bookings.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    booking_id: "booking_id",
    customer_id: "customer_id",
    booking_date: "booking_date",
    booking_amount: "booking_amount",
    booking_status: "booking_status",
    product_name: "product_name",
    source_system: "source_system",
  },
  row: rowSchema(
    {
      booking_id: identifier({ required: true }),
      customer_id: identifier({ required: true }),
      booking_date: date("YYYY-MM-DD", { required: true }),
      booking_amount: money({ required: true }),
      booking_status: oneOf(["COMPLETED", "CANCELLED", "PENDING", "REFUNDED"], { required: true }),
      product_name: text({ max: 200 }),
      source_system: text({ max: 100 }),
    },
    (r) => ({ ...r }),
  ),
  target: bookingsTarget,
};
