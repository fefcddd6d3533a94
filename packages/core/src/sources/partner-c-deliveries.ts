import type { SourceSpec } from "./spec";
import { imb, rowSchema, timestamp } from "./fields";
import { deliveriesTarget, deliveryRow, operationCode } from "./deliveries";

/** Partner C's delivery confirmations: semicolon-separated, 20-digit tracking codes, DD.MM.YYYY HH:MM in US Central time. */
export const partnerCDeliveries: SourceSpec = {
  name: "partner-c-deliveries",
  partner: "C",
  description:
    "Partner C delivery confirmations (semicolon CSV: tracking code, day-first time (Central), operation code)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?c[-_ ].*deliver.*\.csv$/i,
  reader: { format: "csv", delimiter: ";", encoding: "utf-8" },
  columns: { Barcode: "imb", Delivered: "delivered", Event: "operation" },
  row: rowSchema(
    {
      imb: imb({ required: true }),
      delivered: timestamp("DD.MM.YYYY HH:MM", { required: true, zone: "America/Chicago" }),
      operation: operationCode(),
    },
    (r) => deliveryRow(r.imb, r.delivered, r.operation),
  ),
  target: deliveriesTarget,
};
