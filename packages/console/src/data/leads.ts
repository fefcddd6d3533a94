import { People, type Queryable } from "@leadpipe/core";

/**
 * A lead's timeline: the mortgages a search finds (by loan number, tracking code, phone or borrower
 * name), and for each, every event from the mortgage to the hand-off with the file it came from, in the
 * order of the journey (mortgage → mail piece → deliveries → calls → lead → hand-off), by time within each.
 */
export interface TimelineEvent {
  at: Date | string | null;
  kind: "mortgage" | "mail piece" | "delivery" | "call" | "lead" | "hand-off";
  what: string;
  mortgage_id: string;
  tracking_code: string | null;
  source_file: string | null;
  import_id: string | null;
  source_row: number | null;
}

export type SearchBy = "loan" | "tracking" | "phone" | "name";

export function searchKind(q: string): SearchBy {
  const digits = q.replace(/[\s-]/g, "");
  if (/^\d{20}$/.test(digits)) return "tracking";
  const phone = People.standardizePhone(q);
  if (/^[+()\d\s.-]{10,}$/.test(q.trim()) && phone.e164) return "phone";
  if (/\d/.test(q)) return "loan";
  return "name";
}

export async function findMortgages(db: Queryable, q: string, limit = 50): Promise<{ by: SearchBy; ids: string[] }> {
  const text = q.trim().slice(0, 200);
  if (!text) return { by: "loan", ids: [] };
  const by = searchKind(text);
  let sql: string;
  let param: string;
  switch (by) {
    case "tracking":
      sql = "SELECT mortgage_id FROM mail_pieces WHERE tracking_code = $1 AND mortgage_id IS NOT NULL";
      param = text.replace(/[\s-]/g, "");
      break;
    case "phone":
      param = People.standardizePhone(text).e164!;
      // mortgages_phone10 (its last ten digits) finds the candidates; the E.164 form decides
      sql = `SELECT mortgage_id FROM mortgages
              WHERE right(regexp_replace(phone, '\\D', '', 'g'), 10) = right($1, 10) AND phone = $1
             UNION SELECT mortgage_id FROM call_responses WHERE caller_phone = $1 AND mortgage_id IS NOT NULL`;
      break;
    case "loan":
      // Loan numbers are upper-cased at ingestion (sources/fields.ts identifier): two probes of the key.
      sql = "SELECT mortgage_id FROM mortgages WHERE mortgage_id IN ($1, upper($1))";
      param = text;
      break;
    default:
      // The surname is the whole text or what follows one of its spaces: those candidates probe
      // mortgages_borrower_last_name (migration 220), then the full name decides.
      sql = `SELECT mortgage_id FROM mortgages
              WHERE borrower_last_name IS NOT NULL AND lower(borrower_last_name) = ANY ($2::text[])
                AND (lower(borrower_last_name) = lower($1)
                     OR lower(borrower_first_name || ' ' || borrower_last_name) = lower($1))`;
      param = text;
  }
  const words = text.toLowerCase().split(" ");
  const surnames = words.map((_, i) => words.slice(i).join(" "));
  const { rows } = await db.query<{ mortgage_id: string }>(
    `SELECT mortgage_id FROM (${sql}) m ORDER BY 1 LIMIT ${Math.floor(limit)}`,
    by === "name" ? [param, surnames] : [param],
  );
  return { by, ids: rows.map((r) => r.mortgage_id) };
}

export async function timeline(db: Queryable, mortgageIds: readonly string[]): Promise<TimelineEvent[]> {
  if (mortgageIds.length === 0) return [];
  const { rows } = await db.query<TimelineEvent>(
    `WITH m AS (SELECT * FROM mortgages WHERE mortgage_id = ANY ($1::text[])),
     p AS (SELECT mp.* FROM mail_pieces mp JOIN m USING (mortgage_id)),
     ev AS (
       SELECT m.closing_date::timestamptz AS at, 'mortgage' AS kind,
              concat_ws(' ', 'closing', m.closing_date, '·', m.borrower_first_name, m.borrower_last_name, '·', m.property_city, m.property_state,
                        '· loan', m.loan_amount) AS what,
              m.mortgage_id, NULL::text AS tracking_code, m.import_id, m.source_row FROM m
       UNION ALL
       SELECT pr.mail_date::timestamptz, 'mail piece',
              concat_ws(' ', 'piece', p.tracking_code, '· partner', p.partner,
                        CASE WHEN pr.tracking_code IS NOT NULL THEN concat('· ', pr.piece_type, ' version ', pr.mailer_version, ', mailed ', pr.mail_date, ', campaign ', pr.campaign)
                             ELSE '· mail date unknown (no production record)' END),
              p.mortgage_id, p.tracking_code, coalesce(pr.import_id, p.import_id), coalesce(pr.source_row, p.source_row)
         FROM p LEFT JOIN mail_piece_production pr USING (tracking_code)
       UNION ALL
       SELECT d.delivered_at, 'delivery', concat('delivered (event ', d.event_code, ')'), p.mortgage_id, d.tracking_code, d.import_id, d.source_row
         FROM mail_piece_deliveries d JOIN p USING (tracking_code)
       UNION ALL
       SELECT c.called_at, 'call', concat(c.disposition, ' call from ', c.caller_phone, ' (matched by ', c.match_method, ')'),
              c.mortgage_id, c.tracking_code, c.import_id, c.source_row
         FROM call_responses c WHERE c.mortgage_id = ANY ($1::text[])
       UNION ALL
       SELECT l.interested_at, 'lead', concat('lead #', l.id, ' for ', l.caller_phone), l.mortgage_id, l.tracking_code, c.import_id, c.source_row
         FROM leads l JOIN call_responses c ON c.id = l.first_response_id WHERE l.mortgage_id = ANY ($1::text[])
       UNION ALL
       SELECT h.handed_off_at, 'hand-off', concat('handed off to the agency on ', h.day, ' in ', h.file_key), l.mortgage_id, l.tracking_code, NULL, NULL
         FROM lead_handoff_items h JOIN leads l ON l.id = h.lead_id WHERE l.mortgage_id = ANY ($1::text[])
     )
     SELECT ev.at, ev.kind, ev.what, ev.mortgage_id, ev.tracking_code, i.file_name AS source_file, ev.import_id::text AS import_id, ev.source_row
       FROM ev LEFT JOIN imports i ON i.id = ev.import_id
      ORDER BY ev.mortgage_id, array_position(ARRAY['mortgage','mail piece','delivery','call','lead','hand-off'], ev.kind), ev.at`,
    [mortgageIds],
  );
  return rows;
}
