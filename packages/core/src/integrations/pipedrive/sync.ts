import { randomUUID } from "node:crypto";
import { type Pool, withTransaction } from "../../db";
import { ConfigError } from "../../errors";
import { connectionOf, type Integrations, type PipedriveConnection } from "../config";
import { ApiError, type Clock, realClock } from "../http";
import { readCursor, readTokenSpend, saveTokenSpend, writeCursor } from "../runs";
import type { SyncContext } from "../sync";
import { PipedriveApi, type PipedriveApiOptions } from "./api";
import { budgetDayOf, dailyLimit, tokenCost } from "./budget";
import {
  type BoundRule,
  bindFields,
  changedFields,
  type Entity,
  hashValues,
  normalizeValues,
  type RemoteRecord,
  readValues,
  toBody,
  type Values,
} from "./mapping";
import * as Store from "./store";

/**
 * The Pipedrive sync (issue 23), one run: (1) check the declared custom field keys exist; (2) read
 * persons and deals changed since the cursor (minus an overlap), apply the fields Pipedrive owns to
 * the golden records and note where a salesperson changed a field we own; (3) with --full, list
 * every id and mark what Pipedrive no longer has as deleted; (4) send golden records with an
 * interested lead as persons and deals, by diffing against the last sent snapshot, creating through
 * an intent + marker so a crash never creates twice, and keeping refused writes in the retry ledger.
 */

/** Seconds the incremental read goes back before its cursor: updates in the cursor's second are read again. */
export const OVERLAP_SECONDS = 5;
const WRITE_BATCH = 500;

export interface PipedriveSyncOptions {
  /** Test seam: the API client options (a fetch, …). */
  api?: PipedriveApiOptions["client"];
  /** The clock requests are paced and the budget day is told by (a virtual one in the benchmark). */
  clock?: Clock;
}

/**
 * The sync, given its options. A run that meets the day's token budget (ours to spend, or Pipedrive's
 * 429 saying it is gone) stops where it is: everything done is stored, the run ends partial, and the
 * next run resumes (reads from their cursor, writes by diffing again: nothing is sent twice).
 */
export function pipedriveSync(o: PipedriveSyncOptions = {}) {
  return async (ctx: SyncContext, connections: Integrations): Promise<void> => {
    const conn = connectionOf(connections, "pipedrive", "integrations");
    const rules = bindFields(conn.owner_field_map, "pipedrive");
    const clock = o.clock ?? realClock;
    const now = clock.now();
    const daily = dailyLimit(conn, now, await readTokenSpend(ctx.pool, "pipedrive", budgetDayOf(conn, now)));
    const api = new PipedriveApi(conn, { client: o.api, daily, clock });
    const run = new PipedriveRun(ctx, conn, rules, api);
    try {
      await run.checkFields();
      for (const entity of ["person", "deal"] as const) await run.read(entity);
      await run.write();
    } finally {
      await run.saveSpend();
    }
  };
}

class PipedriveRun {
  private readonly pool: Pool;

  constructor(
    private readonly ctx: SyncContext,
    private readonly conn: PipedriveConnection,
    private readonly rules: BoundRule[],
    private readonly api: PipedriveApi,
  ) {
    this.pool = ctx.pool;
  }

  private async beat(): Promise<void> {
    await this.saveSpend();
    await this.ctx.heartbeat();
  }

  /** The requests counted and the day's tokens stored, so the day's later runs start from them. */
  async saveSpend(): Promise<void> {
    this.ctx.counts.requests = this.api.requests;
    const today = this.api.client.budget.today;
    if (today && this.api.client.budget.tokens > 0)
      await saveTokenSpend(this.pool, "pipedrive", today.day, today.spent);
  }

  /**
   * Custom fields are addressed by key, never by name: a field renamed in Pipedrive (same key) goes
   * on syncing; a key Pipedrive no longer has (the field deleted or re-created under a new key) stops
   * the run before anything is written, naming the field to re-declare.
   */
  async checkFields(): Promise<void> {
    for (const entity of ["person", "deal"] as const) {
      const declared = this.rules.filter((r) => r.entity === entity && r.key);
      const remote = await this.api.fields(entity);
      for (const r of declared) {
        if (!remote.some((x) => x.key === r.key))
          throw new ConfigError(
            `pipedrive: owner_field_map."${entity}.${r.field}" = ${r.key} is not a ${entity} field in Pipedrive ` +
              "(deleted, or re-created under a new key): declare its current key",
          );
      }
    }
  }

  /** Reads what changed (or everything, with --full) and applies it, one page per transaction with the cursor. */
  async read(entity: Entity): Promise<void> {
    const cursorName = `${entity}s.updated_since`;
    const cursor = this.ctx.full ? undefined : await readCursor(this.pool, "pipedrive", cursorName);
    const since = cursor ? toRfc3339(new Date(Date.parse(cursor) - OVERLAP_SECONDS * 1000)) : undefined;
    const present: number[] = [];
    let newest = cursor;
    for await (const page of this.api.list(entity, { updatedSince: since, pageSize: this.conn.page_size ?? 500 })) {
      this.ctx.counts.read += page.length;
      for (const r of page) {
        present.push(r.id);
        if (!newest || Date.parse(r.update_time) > Date.parse(newest)) newest = r.update_time;
      }
      const snaps = await Store.snapshotsByRemote(
        this.pool,
        entity,
        page.map((r) => r.id),
      );
      if (this.ctx.dryRun) {
        for (const r of page) if (this.inbound(entity, r, snaps.get(r.id))) this.ctx.counts.updated++;
      } else {
        await withTransaction(this.pool, async (tx) => {
          for (const r of page) {
            const change = this.inbound(entity, r, snaps.get(r.id));
            if (!change) continue;
            const snap = snaps.get(r.id)!;
            if (change.apply) {
              await Store.applyCrmFields(tx, entity, snap.person_id, change.seen, r.update_time);
              this.ctx.counts.updated++;
            }
            await Store.saveSeen(
              tx,
              entity,
              snap.person_id,
              change.seen,
              change.seenHash,
              r.update_time,
              change.theirs,
            );
          }
          if (newest) await writeCursor(tx, "pipedrive", cursorName, newest);
        });
      }
      await this.beat();
    }
    if (this.ctx.full) {
      const gone = this.ctx.dryRun
        ? (
            await this.pool.query(
              "SELECT count(*)::int AS n FROM pipedrive_snapshots WHERE entity = $1 AND " +
                "remote_id IS NOT NULL AND deleted_at IS NULL AND NOT (remote_id = ANY($2::bigint[]))",
              [entity, present],
            )
          ).rows[0].n
        : (await Store.markDeleted(this.pool, entity, present)).length;
      this.ctx.counts.deleted += gone;
      if (gone > 0) this.ctx.log.info("deleted in Pipedrive", { entity, count: gone });
    }
  }

  /**
   * What one record read means for us: undefined when it is not ours or nothing changed (an echo of
   * our own write is the same update_time and values as we stored from its answer); else the fields
   * Pipedrive owns (to apply when they changed) and, when a salesperson changed a field we own, its
   * value there (a conflict: ours is sent back by the write phase, since leadpipe owns the field).
   */
  private inbound(entity: Entity, r: RemoteRecord, snap: Store.Snapshot | undefined) {
    if (!snap || snap.deleted) return undefined;
    const seen = readValues(this.rules, entity, "pipedrive", r);
    const seenHash = hashValues(seen);
    const ours = readValues(this.rules, entity, "leadpipe", r);
    const conflict = snap.sent_hash !== null && hashValues(ours) !== snap.sent_hash;
    const sameTime = snap.seen_update_time?.getTime() === Date.parse(r.update_time);
    if (sameTime && seenHash === snap.seen_hash && !conflict) return undefined;
    if (conflict)
      this.ctx.log.info("field owned by leadpipe changed in Pipedrive: ours is sent back", { entity, id: r.id });
    return { seen, seenHash, apply: seenHash !== snap.seen_hash, theirs: conflict ? ours : undefined };
  }

  /**
   * Sends every golden record with an interested lead, in pages, person before its deal;
   * `write_concurrency` records at a time (the budget paces them all: it checks and spends in one tick).
   */
  async write(): Promise<void> {
    const workers = this.conn.write_concurrency ?? 1;
    let after = 0;
    for (;;) {
      const page = await Store.candidates(this.pool, after, WRITE_BATCH);
      if (page.length === 0) break;
      const queue = [...page];
      // the first error stops every worker after the record it has in hand (a limit met: the run ends
      // partial with each record either written and stored or not started)
      let stop: unknown;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let c = queue.shift(); c && stop === undefined; c = queue.shift())
            await this.writeOne(c).catch((err: unknown) => {
              stop ??= err;
            });
        }),
      );
      after = page[page.length - 1]!.person_id;
      await this.beat();
      if (stop !== undefined) throw stop;
    }
  }

  private async writeOne(c: Store.Candidate): Promise<void> {
    const personId = await this.upsert("person", c.person_id, c.person, (marker) => ({
      name: [c.first_name, c.last_name].filter(Boolean).join(" ") || c.phone || c.email || `Person ${c.person_id}`,
      emails: c.email ? [c.email] : [],
      phones: c.phone ? [c.phone] : [],
      leadpipe_id: marker,
      tracking_code: c.tracking_code,
    }));
    if (personId === undefined) return;
    await this.upsert("deal", c.person_id, c.deal, (marker) => ({
      title: `Lead ${c.tracking_code}`,
      person_id: personId,
      leadpipe_id: marker,
      tracking_code: c.tracking_code,
      interested_at: c.interested_at.toISOString(),
    }));
  }

  /** Fields of the mapping only (a custom field not declared is not sent). */
  private wanted(entity: Entity, v: Values): Values {
    const mine = new Set(this.rules.filter((r) => r.entity === entity && r.owner === "leadpipe").map((r) => r.field));
    return normalizeValues(Object.fromEntries(Object.entries(v).filter(([k]) => mine.has(k))));
  }

  /** The fields Pipedrive owns that we set once, when we create the record. */
  private initial(entity: Entity): Values {
    const v: Values = {};
    if (this.conn.owner_id) v.owner_id = this.conn.owner_id;
    if (entity === "deal" && this.conn.stage_id) v.stage_id = this.conn.stage_id;
    return v;
  }

  /**
   * Creates or updates one record; returns its Pipedrive id (undefined: not there, e.g. refused or
   * deleted in Pipedrive, or not yet created in a dry run).
   */
  private async upsert(
    entity: Entity,
    personId: number,
    snap: Store.Snapshot | null,
    build: (marker: string) => Values,
  ): Promise<number | undefined> {
    if (snap?.deleted) return undefined;
    const marker = snap?.marker ?? `leadpipe:${randomUUID()}`;
    const wanted = this.wanted(entity, build(marker));
    const wantedHash = hashValues(wanted);
    const markerKey = this.rules.find((r) => r.entity === entity && r.field === "leadpipe_id")!.key!;
    let remoteId = snap?.remote_id ?? undefined;
    let sent = snap?.sent ?? {};
    let sentHash = snap?.sent_hash ?? null;
    if (remoteId === undefined && snap) {
      // an intent without its outcome: a POST may have reached Pipedrive before a crash
      const found = await this.api.findByMarker(entity, marker, markerKey);
      if (found) {
        this.ctx.log.info("adopted a record created before a crash", { entity, personId, id: found.id });
        remoteId = found.id;
        sent = readValues(this.rules, entity, "leadpipe", found);
        sentHash = hashValues(sent);
        if (!this.ctx.dryRun) await this.saved(entity, personId, snap, found, sent);
      }
    }
    if (remoteId === undefined) {
      if (this.ctx.dryRun) {
        this.ctx.counts.created++;
        return undefined;
      }
      // a create the day's budget cannot pay for is not begun (no intent left to look up later)
      this.api.client.budget.ensure(tokenCost("POST", entity), true);
      await Store.writeIntent(this.pool, entity, personId, marker);
      const body = { ...this.initial(entity), ...toBody(this.rules, entity, wanted, Object.keys(wanted)) };
      try {
        const rec = await this.api.create(entity, body);
        await this.saved(entity, personId, snap, rec, wanted);
        this.ctx.counts.created++;
        return rec.id;
      } catch (err) {
        if (!(await this.refused(err, entity, personId, body))) throw err;
        await Store.dropIntent(this.pool, entity, personId);
        return undefined;
      }
    }
    if (sentHash === wantedHash) {
      this.ctx.counts.unchanged++;
      return remoteId;
    }
    const fields = changedFields(sent, wanted);
    if (this.ctx.dryRun) {
      this.ctx.counts[fields.length > 0 ? "updated" : "unchanged"]++;
      return remoteId;
    }
    const body = toBody(this.rules, entity, wanted, fields);
    try {
      const rec = fields.length > 0 ? await this.api.update(entity, remoteId, body) : undefined;
      if (rec) await this.saved(entity, personId, snap, rec, wanted);
      else
        await this.pool.query("UPDATE pipedrive_snapshots SET sent_hash = $3 WHERE entity = $1 AND person_id = $2", [
          entity,
          personId,
          wantedHash,
        ]);
      this.ctx.counts[rec ? "updated" : "unchanged"]++;
      return remoteId;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        await Store.markOneDeleted(this.pool, entity, personId);
        this.ctx.counts.deleted++;
        return undefined;
      }
      if (!(await this.refused(err, entity, personId, body))) throw err;
      return remoteId;
    }
  }

  /**
   * Stores a write's outcome with the record as Pipedrive answered: what we sent, and the fields it
   * owns as they now are (applied to the golden record if they differ from what we last saw, so a
   * salesperson's edit made between our read and our write is not swallowed).
   */
  private async saved(
    entity: Entity,
    personId: number,
    snap: Store.Snapshot | null,
    rec: RemoteRecord,
    sent: Values,
  ): Promise<void> {
    const seen = readValues(this.rules, entity, "pipedrive", rec);
    const seenHash = hashValues(seen);
    await withTransaction(this.pool, async (tx) => {
      if (seenHash !== snap?.seen_hash) await Store.applyCrmFields(tx, entity, personId, seen, rec.update_time);
      await Store.saveWritten(tx, entity, personId, {
        remoteId: rec.id,
        sent,
        sentHash: hashValues(sent),
        seen,
        seenHash,
        updateTime: rec.update_time,
      });
    });
  }

  /** A write Pipedrive refused (4xx other than throttling): into the retry ledger; true when handled. */
  private async refused(err: unknown, entity: Entity, personId: number, body: Values): Promise<boolean> {
    if (!(err instanceof ApiError) || err.status < 400 || err.status >= 500 || [401, 429].includes(err.status))
      return false;
    await Store.ledgerFail(this.pool, entity, personId, err.status, err.message, body);
    this.ctx.counts.failed++;
    this.ctx.log.warn("write refused by Pipedrive: kept in the retry ledger", {
      entity,
      personId,
      status: err.status,
      reason: err.message,
    });
    return true;
  }
}

function toRfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
