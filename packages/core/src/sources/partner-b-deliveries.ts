import type { SourceSpec } from "./spec";
import { clock, date, imb, rowSchema } from "./fields";
import { deliveriesTarget, deliveryRow, deliveryStatus } from "./deliveries";

/**
 * Partner B's delivery confirmations: the numeric IMb (tracking + routing, often with spaces or
 * dashes), the scan date and time in separate columns in US Eastern local time, a status text.
 */
export const partnerBDeliveries: SourceSpec = {
  name: "partner-b-deliveries",
  partner: "B",
  description: "Partner B delivery confirmations (CSV: numeric IMb, date + time (Eastern), status)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?b[-_ ].*deliver.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: { "Tracking Number": "imb", "Scan Date": "scan_date", "Scan Time": "scan_time", Status: "status" },
  row: rowSchema(
    {
      imb: imb({ required: true }),
      scan_date: date("MM/DD/YYYY", { required: true }),
      scan_time: clock({ required: true }),
      status: deliveryStatus(),
    },
    (r) =>
      deliveryRow(
        r.imb,
        r.scan_date && r.scan_time ? `${r.scan_date} ${r.scan_time} America/New_York` : null,
        r.status,
      ),
  ),
  target: deliveriesTarget,
};
