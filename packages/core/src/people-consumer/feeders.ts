import type { PoolClient } from "../db";
import type { Deps } from "../ports";
import { asRetryable } from "../errors";
import { maybeFail } from "../faults";
import * as Sources from "../sources/index";
import { getImport } from "../imports/repo";
import { standardizeContact, type ContactInput } from "../people/record";
import {
  recordRow,
  resolveImportUntil,
  upsertRecords,
  type Feeder,
  type PausedResolution,
  type RecordRow,
  type Resolution,
} from "../people/resolve";

interface MortgageRow {
  mortgage_id: string;
  partner: string;
  borrower_first_name: string | null;
  borrower_last_name: string | null;
  co_borrower_first_name: string | null;
  co_borrower_last_name: string | null;
  property_address: string | null;
  property_city: string | null;
  property_state: string | null;
  property_zip5: string | null;
  property_zip4: string | null;
  mailing_address: string | null;
  mailing_city: string | null;
  mailing_state: string | null;
  mailing_zip5: string | null;
  mailing_zip4: string | null;
  phone: string | null;
  email: string | null;
  source_row: number;
  src_seq: string;
}

/**
 * Mortgage borrowers as people: the borrower with the loan's phone and e-mail, the co-borrower
 * with the name alone; both at the mailing address when there is one, else the property's.
 * One record per mortgage and role, so a newer delivery of the loan updates it. The import's
 * mortgages are read through a cursor, FEED_BATCH at a time: memory is bounded by the batch.
 */
export const mortgageBorrowers: Feeder = async (client: PoolClient, importId: string) => {
  await client.query(
    `DECLARE people_feed NO SCROLL CURSOR FOR
     SELECT mortgage_id, partner, borrower_first_name, borrower_last_name, co_borrower_first_name, co_borrower_last_name,
            property_address, property_city, property_state, property_zip5, property_zip4,
            mailing_address, mailing_city, mailing_state, mailing_zip5, mailing_zip4, phone, email, source_row, src_seq::text AS src_seq
       FROM mortgages WHERE import_id = '${uuid(importId)}'`,
  );
  try {
    for (;;) {
      const { rows } = await client.query<MortgageRow>(`FETCH ${FEED_BATCH} FROM people_feed`);
      if (rows.length === 0) break;
      await upsertRecords(client, borrowerRecords(importId, rows));
    }
  } finally {
    await client.query("CLOSE people_feed");
  }
};

/** Mortgages read per batch by the borrowers' feeder. */
const FEED_BATCH = 20_000;

/** DECLARE takes no parameters: the import id goes in as text only once it is proven a UUID. */
function uuid(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    throw new Error(`not an import id: ${JSON.stringify(id)}`);
  }
  return id;
}

function borrowerRecords(importId: string, rows: MortgageRow[]): RecordRow[] {
  const records: RecordRow[] = [];
  for (const m of rows) {
    const mailing = m.mailing_address !== null;
    const address: ContactInput = {
      street: mailing ? m.mailing_address : m.property_address,
      city: mailing ? m.mailing_city : m.property_city,
      state: mailing ? m.mailing_state : m.property_state,
      zip:
        [mailing ? m.mailing_zip5 : m.property_zip5, mailing ? m.mailing_zip4 : m.property_zip4]
          .filter(Boolean)
          .join("-") || null,
    };
    const lineage = { import_id: importId, source_row: Number(m.source_row), src_seq: m.src_seq };
    if (m.borrower_first_name || m.borrower_last_name) {
      const input = {
        first_name: m.borrower_first_name,
        last_name: m.borrower_last_name,
        phone: m.phone,
        email: m.email,
        ...address,
      };
      records.push(
        recordRow(standardizeContact(input), {
          ...lineage,
          source_kind: "mortgage-borrower",
          source_key: `${m.partner}:${m.mortgage_id}`,
        }),
      );
    }
    if (m.co_borrower_first_name || m.co_borrower_last_name) {
      const input = { first_name: m.co_borrower_first_name, last_name: m.co_borrower_last_name, ...address };
      records.push(
        recordRow(standardizeContact(input), {
          ...lineage,
          source_kind: "mortgage-co-borrower",
          source_key: `${m.partner}:${m.mortgage_id}`,
        }),
      );
    }
  }
  return records;
}

/** Where each kind of data brings people from. Kinds not listed bring none (their imports skip the step). */
export const FEEDERS: Readonly<Record<string, Feeder | null>> = {
  mortgages: mortgageBorrowers,
  // Contact lists upsert their records while their chunks are promoted; nothing more to feed.
  contacts: null,
};

/**
 * The ResolvePeople step: the import's people matched into golden records (a no-op for data without people). With
 * `stop`, it stops between two batches once stop() says so, and says how far it got (`paused`).
 */
export async function resolvePeople(
  deps: Deps,
  importId: string,
  options: { stop?: () => boolean; batchSize?: number; maxCandidates?: number } = {},
): Promise<{ importId: string; people: Resolution | null; paused?: PausedResolution }> {
  try {
    const imp = await getImport(deps.pool, importId);
    const kind = Sources.get(imp.source ?? "")?.target.kind;
    if (kind === undefined || !(kind in FEEDERS)) return { importId, people: null };
    maybeFail(`people.resolve.${importId}`);
    const r = await resolveImportUntil(deps, importId, FEEDERS[kind] ?? undefined, options);
    return "paused" in r ? { importId, people: null, paused: r } : { importId, people: r };
  } catch (err) {
    throw asRetryable(err, "resolving people");
  }
}

/**
 * The people consumer: resolves, oldest first, every import that landed people (COMPLETE or
 * COMPLETE_WITH_ERRORS, of a kind in FEEDERS) and has no resolution yet. It runs after imports,
 * not inside them: matching a million borrowers must not hold up the import that landed them,
 * and one consumer working in landing order keeps golden ids stable. Invoked when an ingest
 * execution succeeds and on a schedule (catch-up); concurrent runs are safe (resolveImport
 * takes the people lock and skips what is already resolved).
 *
 * With a `deadline` (epoch ms: a Lambda's time less a batch's worth) it starts no batch after it, but always resolves
 * one (every run makes progress): `more` says it stopped for time, with the import in progress `paused` (its batches,
 * records resolved and pending) and counted in `remaining`; the next run resumes it (the AWS loop,
 * stacks/people.asl.json, invokes it again while there is more).
 *
 * An import whose resolution fails is recorded in people_failures with the reason and the run
 * goes on with the next one; after PEOPLE_MAX_ATTEMPTS failures it is skipped and alerted once
 * (never blocking the imports after it) until its row there is deleted.
 */
export async function resolvePending(
  deps: Deps,
  options: { limit?: number; deadline?: number; batchSize?: number; maxCandidates?: number } = {},
): Promise<{
  resolved: { importId: string; people: Resolution | null }[];
  failed: PeopleFailure[];
  remaining: number;
  paused: PausedResolution | null;
  more: boolean;
}> {
  const kinds = Object.keys(FEEDERS);
  const sources = Sources.all.filter((s) => kinds.includes(s.target.kind)).map((s) => s.name);
  const pending = async () =>
    (
      await deps.pool.query<{ id: string }>(
        `SELECT i.id FROM imports i
      WHERE i.status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS') AND i.source = ANY ($1)
        AND NOT EXISTS (SELECT 1 FROM people_resolutions r WHERE r.import_id = i.id)
        AND NOT EXISTS (SELECT 1 FROM people_failures f WHERE f.import_id = i.id AND f.attempts >= $2)
      ORDER BY i.seq`,
        [sources, PEOPLE_MAX_ATTEMPTS],
      )
    ).rows.map((r) => r.id);
  const ids = await pending();
  const todo = ids.slice(0, options.limit ?? ids.length);
  const deadline = options.deadline;
  const stop = deadline === undefined ? undefined : () => Date.now() >= deadline;
  const resolved: { importId: string; people: Resolution | null }[] = [];
  const failed: PeopleFailure[] = [];
  const stopped = (paused: PausedResolution | null) => ({
    resolved,
    failed,
    remaining: ids.length - resolved.length - failed.length,
    paused,
    more: true,
  });
  for (const importId of todo) {
    // Out of time before an import begins (and after some progress): it is left whole for the next run.
    if (stop?.() && resolved.length + failed.length > 0) return stopped(null);
    try {
      const r = await resolvePeople(deps, importId, {
        ...(stop ? { stop } : {}),
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        ...(options.maxCandidates ? { maxCandidates: options.maxCandidates } : {}),
      });
      await deps.pool.query("DELETE FROM people_failures WHERE import_id = $1", [importId]);
      if (r.paused) return stopped(r.paused);
      resolved.push(r);
    } catch (err) {
      failed.push(await recordFailure(deps, importId, err as Error));
    }
  }
  return { resolved, failed, remaining: ids.length - todo.length, paused: null, more: false };
}

/** Attempts after which an import's people are skipped (and alerted) instead of tried on every run. */
export const PEOPLE_MAX_ATTEMPTS = 3;

export interface PeopleFailure {
  importId: string;
  attempts: number;
  reason: string;
}

async function recordFailure(deps: Deps, importId: string, err: Error): Promise<PeopleFailure> {
  const reason = `${err.name}: ${err.message}`;
  const {
    rows: [f],
  } = await deps.pool.query<{ attempts: number }>(
    `INSERT INTO people_failures (import_id, attempts, reason) VALUES ($1, 1, $2)
     ON CONFLICT (import_id) DO UPDATE SET attempts = people_failures.attempts + 1, reason = excluded.reason, failed_at = now()
     RETURNING attempts`,
    [importId, reason],
  );
  const attempts = f!.attempts;
  deps.log.error("people resolution failed", { importId, attempts, error: reason });
  if (attempts === PEOPLE_MAX_ATTEMPTS) {
    const imp = await getImport(deps.pool, importId);
    await deps.notifier.alert(
      `leadpipe people resolution FAILED: ${imp.file_name}`.slice(0, 99),
      [
        `The people of import ${importId} (${imp.file_name}) could not be resolved after ${attempts} attempts; later imports go on without them.`,
        `Reason: ${reason}`,
        `Try again: DELETE FROM people_failures WHERE import_id = '${importId}' (the next run of the people consumer resolves it).`,
      ].join("\n"),
    );
  }
  return { importId, attempts, reason };
}
