import type { SourceSpec } from "./spec";
import { imb, rowSchema, timestamp } from "./fields";
import { deliveriesTarget, deliveryRow, operationCode } from "./deliveries";

/** Partner A's delivery confirmations: the 65-bar IMb, ISO 8601 times with offsets, USPS operation codes. */
export const partnerADeliveries: SourceSpec = {
  name: "partner-a-deliveries",
  partner: "A",
  description: "Partner A delivery confirmations (CSV: IMb bars, ISO time, operation code)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?a[-_ ].*deliver.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: { IMB: "imb", EVENT_TS: "event_time", OP_CODE: "operation" },
  row: rowSchema(
    { imb: imb({ required: true }), event_time: timestamp("ISO", { required: true }), operation: operationCode() },
    (r) => deliveryRow(r.imb, r.event_time, r.operation),
  ),
  target: deliveriesTarget,
};
