import type { SourceSpec, Target } from "./spec";
import { RowIssue, identifier, rowSchema, text } from "./fields";
import { Imb } from "../imb/index";
import { barcodeRule, LOCK_BARCODE_CLAIMS, LOCK_MAIL_PIECES } from "./mortgage-row";
import { promoteWith, refuseStaged } from "./target";

const PARTNER_IN_NAME = /^partner[-_ ]?([a-z])[-_ ].*barcode.*\.csv$/i;

/**
 * Barcode maps (partners B, C, D): mortgage id → IMb. Assignments land whether or not the mortgage
 * has arrived; mail pieces are linked by link_mail_pieces() from either side. Counts are of
 * assignments (one per tracking code). Two locks come first, so this target calls the builder's parts.
 */
export const barcodeMapTarget: Target = {
  kind: "barcode-map",
  stagingTable: "staging_barcode_map",
  columns: ["mortgage_id", "imb_raw", "imb_encoding", "imb_repaired", "tracking_code", "routing_code"],
  views: [],
  async promote(client, importId, chunkIndex) {
    await client.query(LOCK_BARCODE_CLAIMS, [true]);
    await client.query(LOCK_MAIL_PIECES, [importId]);
    const rejects = await refuseStaged(client, "staging_barcode_map", importId, chunkIndex, [barcodeRule]);
    return { rejects, ...(await promoteWith(client, "promote_barcodes", importId, chunkIndex)) };
  },
};

/**
 * The barcode map partners B, C and D send (often after their mortgages): mortgage id → the mail
 * piece's IMb, given in any of the three encodings — the bar string or the numeric string in the
 * IMb column, or the component fields in their own columns. The partner is the one in the file
 * name (partner-c-barcodes-2026-11-20.csv). A barcode that does not parse rejects its row with
 * the codec's "imb: …" reason; both encodings given and disagreeing is an error too.
 */
export const barcodeMap: SourceSpec = {
  name: "barcode-map",
  partner: null,
  partnerFromFileName: PARTNER_IN_NAME,
  description: "Barcode map: mortgage id → IMb (bars, numeric or component fields), one file per partner",
  schemaVersion: 1,
  fileName: PARTNER_IN_NAME,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    "Loan Number": "mortgage_id",
    IMb: "imb",
    "Barcode ID": "barcode_id",
    "Service Type ID": "service_type_id",
    "Mailer ID": "mailer_id",
    "Serial Number": "serial_number",
    "Routing Code": "routing",
  },
  row: rowSchema(
    {
      mortgage_id: identifier({ required: true }),
      imb: text({ max: 200 }),
      barcode_id: text({ max: 20 }),
      service_type_id: text({ max: 20 }),
      mailer_id: text({ max: 20 }),
      serial_number: text({ max: 20 }),
      routing: text({ max: 20 }),
    },
    (r) => {
      const parts = [r.barcode_id, r.service_type_id, r.mailer_id, r.serial_number, r.routing];
      const fields = parts.some((p) => p !== null)
        ? {
            raw: parts.map((p) => p ?? "").join("|"),
            result: Imb.tryParse({
              barcodeId: r.barcode_id ?? "",
              serviceTypeId: r.service_type_id ?? "",
              mailerId: r.mailer_id ?? "",
              serialNumber: r.serial_number ?? "",
              routing: r.routing ?? "",
            }),
          }
        : undefined;
      const cell = r.imb !== null ? { raw: r.imb, result: Imb.tryParse(r.imb) } : undefined;
      const given = cell ?? fields;
      if (!given) return new RowIssue("imb", "required value is missing: give the IMb or its component fields");
      if (!given.result.ok) return new RowIssue(cell ? "imb" : "barcode_id", given.result.error);
      if (
        cell &&
        fields &&
        (!fields.result.ok ||
          fields.result.tracking !== given.result.tracking ||
          fields.result.routing !== given.result.routing)
      ) {
        return new RowIssue("barcode_id", `imb: the component fields (${fields.raw}) do not match the IMb column`);
      }
      return {
        mortgage_id: r.mortgage_id,
        imb_raw: given.raw,
        imb_encoding: given.result.encoding,
        imb_repaired: given.result.repaired,
        tracking_code: given.result.tracking,
        routing_code: given.result.routing === "" ? null : given.result.routing,
      };
    },
  ),
  target: barcodeMapTarget,
};
