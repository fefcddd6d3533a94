import { randomUUID } from "node:crypto";
import type { Pool } from "../../packages/core/src/index";
import type { FakePipedrive } from "./fake-pipedrive";

/**
 * Golden records with an interested lead, as the pipeline leaves them: a person with a phone, a mail
 * piece, an interested call from that phone matched to the piece, and the lead it made.
 */
export async function seedLeads(pool: Pool, from: number, count: number): Promise<number[]> {
  const { rows } = await pool.query<{ person_id: string }>(
    `WITH n AS (SELECT g, '+1415' || lpad((2000000 + g)::text, 7, '0') AS phone,
                       lpad(g::text, 20, '0') AS tc FROM generate_series($1::int, $2::int) g),
          p AS (INSERT INTO persons (first_name, last_name, email, phone)
                SELECT 'Ann' || g, 'Lee', 'ann' || g || '@example.com', phone FROM n RETURNING person_id, phone),
          ph AS (INSERT INTO person_phones (person_id, phone, verified, record_id, last_seq)
                 SELECT person_id, phone, true, 0, 0 FROM p),
          mp AS (INSERT INTO mail_pieces (tracking_code, partner, import_id, source_row, src_seq)
                 SELECT tc, 'A', $3, g, g FROM n),
          cr AS (INSERT INTO call_responses (caller_phone, called_at, disposition, tracking_code, partner, match_method,
                                             import_id, source_row, src_seq)
                 SELECT phone, '2026-11-02T15:00:00Z'::timestamptz + g * interval '1 minute', 'interested', tc, 'A',
                        'tracking_code', $3, g, g FROM n RETURNING id, caller_phone, tracking_code, called_at)
     , l AS (INSERT INTO leads (caller_phone, tracking_code, partner, interested_at, first_response_id)
             SELECT caller_phone, tracking_code, 'A', called_at, id FROM cr)
     SELECT person_id FROM p ORDER BY person_id`,
    [from, from + count - 1, randomUUID()],
  );
  return rows.map((r) => Number(r.person_id));
}

/** The custom fields a Pipedrive account has for the sync, and the owner_field_map declaring their keys. */
export function declareFields(fake: FakePipedrive): Record<string, string> {
  return {
    "person.leadpipe_id": fake.addField("persons", "leadpipe id"),
    "person.tracking_code": fake.addField("persons", "Mail piece"),
    "person.do_not_contact": fake.addField("persons", "Do not contact", "enum"),
    "person.notes": fake.addField("persons", "Sales notes", "text"),
    "deal.leadpipe_id": fake.addField("deals", "leadpipe id"),
    "deal.tracking_code": fake.addField("deals", "Mail piece"),
    "deal.interested_at": fake.addField("deals", "Interested at"),
  };
}
