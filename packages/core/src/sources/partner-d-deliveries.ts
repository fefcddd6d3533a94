import type { SourceSpec } from "./spec";
import { imb, rowSchema, timestamp } from "./fields";
import { deliveriesTarget, deliveryRow, deliveryStatus } from "./deliveries";

/**
 * Partner D's delivery confirmations: the IMb as bars (letters or 0-3 digits), US dates with
 * 12-hour times in US Pacific time, a status text; a facility ZIP column we do not use.
 */
export const partnerDDeliveries: SourceSpec = {
  name: "partner-d-deliveries",
  partner: "D",
  description: "Partner D delivery confirmations (CSV: IMb bars, MM/DD/YYYY h:mm AM/PM (Pacific), status)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?d[-_ ].*deliver.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: { "Piece IMb": "imb", "Event Date/Time": "event_time", Operation: "status" },
  row: rowSchema(
    {
      imb: imb({ required: true }),
      event_time: timestamp("MM/DD/YYYY hh:mm", { required: true, zone: "America/Los_Angeles" }),
      status: deliveryStatus(),
    },
    (r) => deliveryRow(r.imb, r.event_time, r.status),
  ),
  target: deliveriesTarget,
};
