import type { Queryable } from "../../db";
import type { Entity, Values } from "./mapping";

/** The Pipedrive sync's tables (migration 151): snapshots, intents, the retry ledger, the CRM's fields. */

export interface Snapshot {
  marker: string;
  remote_id: number | null;
  sent: Values;
  sent_hash: string | null;
  seen: Values;
  seen_hash: string | null;
  seen_update_time: Date | null;
  deleted: boolean;
}

/** An opt-out's key (with origin 'pipedrive'). */
interface OptOutKey {
  channel: string;
  value: string;
  opted_out_at: string;
}

export interface Candidate {
  person_id: number;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  tracking_code: string;
  interested_at: Date;
  person: Snapshot | null;
  deal: Snapshot | null;
}

const SNAPSHOT_JSON = (alias: string) =>
  `CASE WHEN ${alias}.person_id IS NULL THEN NULL ELSE jsonb_build_object(
     'marker', ${alias}.marker, 'remote_id', ${alias}.remote_id, 'sent', ${alias}.sent,
     'sent_hash', ${alias}.sent_hash, 'seen', ${alias}.seen, 'seen_hash', ${alias}.seen_hash,
     'seen_update_time', ${alias}.seen_update_time, 'deleted', ${alias}.deleted_at IS NOT NULL) END`;

/**
 * Golden records with an interested lead (their phone called and said "interested"), the earliest
 * lead each, with their snapshots: a page after `after` in person_id order.
 */
export async function candidates(db: Queryable, after: number, limit: number): Promise<Candidate[]> {
  const { rows } = await db.query<Candidate & { person: unknown; deal: unknown }>(
    `WITH page AS (
       SELECT DISTINCT ON (pp.person_id) pp.person_id, l.tracking_code, l.interested_at
         FROM leads l JOIN person_phones pp ON pp.phone = l.caller_phone
        WHERE pp.person_id > $1
        ORDER BY pp.person_id, l.interested_at, l.id
        LIMIT $2)
     SELECT p.person_id::int AS person_id, p.first_name, p.last_name, p.email, p.phone, g.tracking_code,
            g.interested_at, ${SNAPSHOT_JSON("sp")} AS person, ${SNAPSHOT_JSON("sd")} AS deal
       FROM page g JOIN persons p USING (person_id)
       LEFT JOIN pipedrive_snapshots sp ON sp.entity = 'person' AND sp.person_id = g.person_id
       LEFT JOIN pipedrive_snapshots sd ON sd.entity = 'deal' AND sd.person_id = g.person_id
      ORDER BY g.person_id`,
    [after, limit],
  );
  return rows.map((r) => ({ ...r, person: fromJson(r.person), deal: fromJson(r.deal) }));
}

function fromJson(j: unknown): Snapshot | null {
  if (!j) return null;
  const s = j as Snapshot & { seen_update_time: string | null; remote_id: number | string | null };
  return {
    ...s,
    remote_id: s.remote_id === null ? null : Number(s.remote_id),
    seen_update_time: s.seen_update_time ? new Date(s.seen_update_time) : null,
  };
}

/** The snapshots of the records read in one page, by remote id. */
export async function snapshotsByRemote(
  db: Queryable,
  entity: Entity,
  remoteIds: number[],
): Promise<Map<number, Snapshot & { person_id: number }>> {
  const { rows } = await db.query<{ person_id: number; snap: unknown }>(
    `SELECT s.person_id::int AS person_id, ${SNAPSHOT_JSON("s")} AS snap
       FROM pipedrive_snapshots s WHERE s.entity = $1 AND s.remote_id = ANY($2::bigint[])`,
    [entity, remoteIds],
  );
  return new Map(rows.map((r) => [fromJson(r.snap)!.remote_id!, { ...fromJson(r.snap)!, person_id: r.person_id }]));
}

/** Before a POST: the intent with its marker (committed first, so a crash leaves it to be looked up). */
export async function writeIntent(db: Queryable, entity: Entity, personId: number, marker: string): Promise<void> {
  await db.query(
    `INSERT INTO pipedrive_snapshots (entity, person_id, marker) VALUES ($1, $2, $3)
     ON CONFLICT (entity, person_id) DO NOTHING`,
    [entity, personId, marker],
  );
}

/** A POST refused: nothing was created, so the intent goes (its ledger row says why). */
export async function dropIntent(db: Queryable, entity: Entity, personId: number): Promise<void> {
  await db.query("DELETE FROM pipedrive_snapshots WHERE entity = $1 AND person_id = $2 AND remote_id IS NULL", [
    entity,
    personId,
  ]);
}

export interface Written {
  remoteId: number;
  sent: Values;
  sentHash: string;
  seen: Values;
  seenHash: string;
  updateTime: string;
}

/** After a write Pipedrive accepted: what we sent, and the record as it answered (our own echo). */
export async function saveWritten(db: Queryable, entity: Entity, personId: number, w: Written): Promise<void> {
  await db.query(
    `UPDATE pipedrive_snapshots
        SET remote_id = $3, sent = $4, sent_hash = $5, seen = $6, seen_hash = $7, seen_update_time = $8,
            synced_at = now()
      WHERE entity = $1 AND person_id = $2`,
    [entity, personId, w.remoteId, w.sent, w.sentHash, w.seen, w.seenHash, w.updateTime],
  );
  await db.query(
    "UPDATE pipedrive_retry_ledger SET resolved_at = now() WHERE entity = $1 AND person_id = $2 AND resolved_at IS NULL",
    [entity, personId],
  );
}

/**
 * What a read saw. `sent`/`sentHash` given: the leadpipe-owned values were changed in Pipedrive (a
 * conflict); they are recorded as what Pipedrive now holds, so the next diff sends ours back.
 */
export async function saveSeen(
  db: Queryable,
  entity: Entity,
  personId: number,
  seen: Values,
  seenHash: string,
  updateTime: string,
  theirs?: Values,
): Promise<void> {
  await db.query(
    `UPDATE pipedrive_snapshots
        SET seen = $3, seen_hash = $4, seen_update_time = $5, synced_at = now(),
            sent = COALESCE($6::jsonb, sent), sent_hash = CASE WHEN $6::jsonb IS NULL THEN sent_hash END
      WHERE entity = $1 AND person_id = $2`,
    [entity, personId, seen, seenHash, updateTime, theirs ?? null],
  );
}

/**
 * Applies the fields Pipedrive owns to the golden record. A do-not-contact ticked (not set before)
 * becomes an opt-out of the person's phone (call) and e-mail (origin 'pipedrive', at the CRM's
 * time), whose keys are kept; unticked, exactly those opt-outs are withdrawn (an opt-out from any
 * other source stays) and the withdrawal is in the audit log.
 */
export async function applyCrmFields(
  db: Queryable,
  entity: Entity,
  personId: number,
  v: Values,
  at: string,
): Promise<void> {
  if (entity === "person") {
    const { rows } = await db.query<{ before: boolean | null; created: OptOutKey[] | null }>(
      `WITH old AS (SELECT do_not_contact, dnc_opt_outs FROM person_crm_fields WHERE person_id = $1)
       INSERT INTO person_crm_fields (person_id, owner_id, do_not_contact, notes)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (person_id) DO UPDATE
         SET owner_id = EXCLUDED.owner_id, do_not_contact = EXCLUDED.do_not_contact, notes = EXCLUDED.notes,
             deleted_in_crm = false, updated_at = now()
       RETURNING (SELECT do_not_contact FROM old) AS before, (SELECT dnc_opt_outs FROM old) AS created`,
      [personId, v.owner_id ?? null, v.do_not_contact === true, v.notes ?? null],
    );
    const before = rows[0]?.before === true;
    if (v.do_not_contact === true && !before) {
      const made = await db.query<OptOutKey>(
        `INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin)
         SELECT c.channel, c.value, $2, 'do-not-contact set in Pipedrive', 'pipedrive'
           FROM persons p, LATERAL (VALUES ('call', p.phone), ('email', p.email)) AS c (channel, value)
          WHERE p.person_id = $1 AND c.value IS NOT NULL
         ON CONFLICT (channel, value, opted_out_at, origin) DO NOTHING
         RETURNING channel, value, opted_out_at`,
        [personId, at],
      );
      await db.query("UPDATE person_crm_fields SET dnc_opt_outs = $2 WHERE person_id = $1", [
        personId,
        JSON.stringify(made.rows),
      ]);
    } else if (v.do_not_contact !== true && before) {
      const keys = rows[0]?.created ?? [];
      const gone = await db.query<OptOutKey>(
        `DELETE FROM opt_outs o USING jsonb_to_recordset($1::jsonb) AS k (channel text, value text, opted_out_at timestamptz)
          WHERE o.origin = 'pipedrive' AND o.channel = k.channel AND o.value = k.value AND o.opted_out_at = k.opted_out_at
         RETURNING o.channel, o.value, o.opted_out_at`,
        [JSON.stringify(keys)],
      );
      await db.query("UPDATE person_crm_fields SET dnc_opt_outs = NULL WHERE person_id = $1", [personId]);
      await db.query(
        `INSERT INTO console_audit (username, role, action, target, outcome, detail)
         VALUES ('sync:pipedrive', 'integration', 'opt-out withdrawn', $1, 'ok', $2)`,
        [String(personId), JSON.stringify({ reason: "do-not-contact unticked in Pipedrive", at, opt_outs: gone.rows })],
      );
    }
    return;
  }
  await db.query(
    `INSERT INTO person_crm_fields (person_id, deal_stage_id, deal_status, deal_owner_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (person_id) DO UPDATE
       SET deal_stage_id = EXCLUDED.deal_stage_id, deal_status = EXCLUDED.deal_status,
           deal_owner_id = EXCLUDED.deal_owner_id, updated_at = now()`,
    [personId, v.stage_id ?? null, v.status ?? null, v.owner_id ?? null],
  );
}

/** A write Pipedrive refused: kept with its reason and payload, retried by every later run. */
export async function ledgerFail(
  db: Queryable,
  entity: Entity,
  personId: number,
  status: number,
  error: string,
  payload: Values,
): Promise<void> {
  await db.query(
    `INSERT INTO pipedrive_retry_ledger (entity, person_id, last_status, last_error, payload)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (entity, person_id) DO UPDATE
       SET attempts = CASE WHEN pipedrive_retry_ledger.resolved_at IS NULL THEN pipedrive_retry_ledger.attempts + 1
                           ELSE 1 END,
           last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error, payload = EXCLUDED.payload,
           last_failed = now(), resolved_at = NULL,
           first_failed = CASE WHEN pipedrive_retry_ledger.resolved_at IS NULL THEN pipedrive_retry_ledger.first_failed
                               ELSE now() END`,
    [entity, personId, status, error.slice(0, 1000), payload],
  );
}

/**
 * The full reconciliation's deletions: our records Pipedrive no longer lists. They are kept as
 * deleted (never re-created: a salesperson removed them), and the golden record says so.
 */
export async function markDeleted(db: Queryable, entity: Entity, present: number[]): Promise<number[]> {
  const { rows } = await db.query<{ person_id: number }>(
    `UPDATE pipedrive_snapshots SET deleted_at = now()
      WHERE entity = $1 AND remote_id IS NOT NULL AND deleted_at IS NULL AND NOT (remote_id = ANY($2::bigint[]))
      RETURNING person_id::int AS person_id`,
    [entity, present],
  );
  const ids = rows.map((r) => r.person_id);
  if (entity === "person" && ids.length > 0)
    await db.query(
      `INSERT INTO person_crm_fields (person_id, deleted_in_crm) SELECT unnest($1::bigint[]), true
       ON CONFLICT (person_id) DO UPDATE SET deleted_in_crm = true, updated_at = now()`,
      [ids],
    );
  return ids;
}

/** The same, for one record a PATCH found gone (404) before a reconciliation did. */
export async function markOneDeleted(db: Queryable, entity: Entity, personId: number): Promise<void> {
  await db.query("UPDATE pipedrive_snapshots SET deleted_at = now() WHERE entity = $1 AND person_id = $2", [
    entity,
    personId,
  ]);
}
