import type { SourceSpec } from "./spec";
import { date, identifier, imb, rowSchema, vocabulary, type DateFormat } from "./fields";
import { promotionTarget, queryRule } from "./target";

/** Piece types as the partners write them; the canonical term is what the reports group by. */
export const PIECE_TYPES = {
  letter: ["letter", "ltr", "#10 letter", "envelope"],
  postcard: ["postcard", "pc", "post card", "6x9 postcard"],
  self_mailer: ["self mailer", "selfmailer", "sm", "trifold", "tri fold"],
} as const;

/** A mailer version (the A/B creative): a short code such as A, B or V2, upper-cased. */
const mailerVersion = () => identifier({ required: true });

export const mailProductionTarget = promotionTarget({
  kind: "mail_production",
  columns: ["tracking_code", "routing_code", "imb_raw", "mail_date", "mailer_version", "piece_type", "campaign"],
  key: ["tracking_code"],
  promoteFn: "promote_mail_production",
  refuse: {
    when: "before",
    rule: queryRule<{ source_row: number; tracking_code: string; owner: string }>(
      "SELECT * FROM mail_production_conflicts($1, $2)",
      (r) => ({
        field: "imb",
        value: r.tracking_code,
        reason: `mail piece belongs to partner ${r.owner}; a partner's production file cannot change another partner's piece`,
      }),
    ),
  },
});

/** One partner's production layout: its headers for the five fields and how it writes the mail date. */
interface Layout {
  partner: "A" | "B" | "C" | "D";
  headers: { imb: string; mailDate: string; version: string; pieceType: string; campaign: string };
  dateFormat: DateFormat;
}

/**
 * A partner's mail-production file: one row per piece printed and dropped, with its IMb (any
 * encoding), the mail date, the mailer version (A/B creative), the piece type and the campaign.
 * The reports' A/B, delivery-time and piece-type questions are answered from it.
 */
function mailProduction({ partner, headers, dateFormat }: Layout): SourceSpec {
  const p = partner.toLowerCase();
  return {
    name: `partner-${p}-mail-production`,
    partner,
    description: `Partner ${partner} mail production (CSV: IMb, mail date ${dateFormat}, mailer version, piece type, campaign)`,
    schemaVersion: 1,
    fileName: new RegExp(`^partner[-_ ]?${p}[-_ ].*(production|mailing).*\\.csv$`, "i"),
    reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
    columns: {
      [headers.imb]: "imb",
      [headers.mailDate]: "mail_date",
      [headers.version]: "mailer_version",
      [headers.pieceType]: "piece_type",
      [headers.campaign]: "campaign",
    },
    row: rowSchema(
      {
        imb: imb({ required: true }),
        mail_date: date(dateFormat, { required: true }),
        mailer_version: mailerVersion(),
        piece_type: vocabulary(PIECE_TYPES, { required: true }),
        campaign: identifier({ required: true }),
      },
      (r) => ({
        tracking_code: r.imb!.tracking,
        routing_code: r.imb!.routing || null,
        imb_raw: r.imb!.raw,
        mail_date: r.mail_date,
        mailer_version: r.mailer_version!.toUpperCase(),
        piece_type: r.piece_type,
        campaign: r.campaign,
      }),
    ),
    target: mailProductionTarget,
  };
}

export const mailProductionSpecs: readonly SourceSpec[] = [
  mailProduction({
    partner: "A",
    dateFormat: "YYYY-MM-DD",
    headers: { imb: "IMb", mailDate: "Mail Date", version: "Version", pieceType: "Piece Type", campaign: "Campaign" },
  }),
  mailProduction({
    partner: "B",
    dateFormat: "MM/DD/YYYY",
    headers: {
      imb: "Tracking Number",
      mailDate: "Drop Date",
      version: "Creative",
      pieceType: "Format",
      campaign: "Job Name",
    },
  }),
  mailProduction({
    partner: "C",
    dateFormat: "DD.MM.YYYY",
    headers: {
      imb: "Barcode",
      mailDate: "Postdatum",
      version: "Variant",
      pieceType: "Piece",
      campaign: "Campaign Code",
    },
  }),
  mailProduction({
    partner: "D",
    dateFormat: "YYYYMMDD",
    headers: {
      imb: "IMB Code",
      mailDate: "MAIL_DT",
      version: "VERSION_CD",
      pieceType: "PIECE_TYPE",
      campaign: "CAMPAIGN_ID",
    },
  }),
];
