import { z } from "zod";
import { joinRecord } from "../../csv/records";
import { ConfigError } from "../../errors";
import { TERMINAL } from "../../imports/lifecycle";
import { RINGCENTRAL_CALL_COLUMNS } from "../../sources/ringcentral-calls";
import { connectionOf } from "../config";
import { clearCursor, readCursor, writeCursor } from "../runs";
import type { SyncContext, SyncFn } from "../sync";
import { type CallRecord, InvalidSyncTokenError, RingCentralApi, type RingCentralApiOptions } from "./api";

/**
 * RingCentral's account call log into leadpipe (issue 23):
 * - a full sync (the first run, --full, or a refused token): FSync sets the sync token and its
 *   syncTime, then the call log is read page by page from the window's start to that syncTime;
 * - an incremental sync: ISync from the stored token until it returns less than a full batch,
 *   then the late-update window (the last `late_window_hours` of the call log) re-read and
 *   compared by lastModifiedTime, for records changed without a sync entry;
 * - a token RingCentral refuses: a full sync over the window since the last sync time less
 *   `overlap_hours`, deduplicated by record id.
 * What changed (new, updated by lastModifiedTime, deleted) is landed as a file of the source
 * ringcentral-calls in the inbox, and waited for: the import stores it, one row per record id.
 * The token is written only after everything read up to it is stored, so a crash re-reads, never skips.
 */

export const RingCentralSettings = z.object({
  /** How far back the first full sync reads. */
  history_days: z.number().int().positive().default(30),
  /** The late-update window re-read on every incremental run. */
  late_window_hours: z.number().positive().default(24),
  /** How far before the last sync time a fallback full sync starts. */
  overlap_hours: z.number().positive().default(24),
  /** Stop a run after this long at a stored page; the next run resumes (a Lambda: 13 of its 15 minutes). */
  max_run_minutes: z.number().positive().optional(),
  /** The local schedule (croner, five fields) and its IANA time zone. */
  schedule: z.string().optional(),
  timezone: z.string().default("UTC"),
});
export type RingCentralSettings = z.infer<typeof RingCentralSettings>;

/** The connection's optional fields, checked (a bad value is named, never guessed around). */
export function ringcentralSettings(conn: Record<string, unknown>): RingCentralSettings {
  const r = RingCentralSettings.safeParse(conn);
  if (!r.success)
    throw new ConfigError(
      `integrations.json ringcentral: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

export const CURSOR_TOKEN = "sync_token";
export const CURSOR_TIME = "sync_time";
/** A full sync under way (JSON FullProgress), so a run cut short (a crash, a time budget) resumes it. */
export const CURSOR_FULL = "full_sync_progress";
const ISYNC_BATCH = 250;
const HOUR = 3_600_000;

export interface RingCentralSyncOptions extends Omit<RingCentralApiOptions, "credentials"> {
  /** Records per call-log page (RingCentral's maximum is 1000). */
  perPage?: number;
  /** Changed records landed per file (a file is one import, waited for before reading on). */
  recordsPerFile?: number;
  /** How long a landed file's import may take. */
  importTimeoutMs?: number;
  /** Poll interval while waiting for an import (real time). */
  pollMs?: number;
  /**
   * Stop after this long (at a landed file) and let the next run resume: a Lambda's 15 minutes
   * hold 150 Heavy requests, a full sync of 1M calls needs 1,000.
   */
  maxDurationMs?: number;
}

interface Seen {
  /** ms since the epoch */
  last_modified: number;
  deleted: boolean;
}

/** A full sync under way: resumed by the next run from `page` (less one, for overlap). */
interface FullProgress {
  from: string;
  syncToken: string;
  syncTime: string;
  page: number;
}

/** The sync registered as SYNCS.ringcentral; options are for tests and the benchmark. */
export function ringcentralSync(o: RingCentralSyncOptions = {}): SyncFn {
  return async (ctx, connections) => {
    const conn = connectionOf(connections, "ringcentral", "integrations.json");
    const settings = ringcentralSettings(conn);
    if (!ctx.dryRun && !ctx.objects)
      throw new ConfigError("the ringcentral sync lands calls through the bucket: none was given to it");
    const api = new RingCentralApi(conn, { ...o, credentials: ctx.credentials });
    const now = o.now ?? Date.now;
    const started = Date.now();
    const lander = new Lander(ctx, api, o);
    const cursor = (name: string) => readCursor(ctx.pool, "ringcentral", name);
    const budgetMs = o.maxDurationMs ?? (settings.max_run_minutes ? settings.max_run_minutes * 60_000 : undefined);
    const outOfTime = () => budgetMs !== undefined && Date.now() - started > budgetMs;

    /** A full sync from `from` (or the one under way): true when it read everything up to its token. */
    const full = async (from: Date | FullProgress): Promise<FullProgress | undefined> => {
      let p: FullProgress;
      if (from instanceof Date) {
        const f = await api.fullSync(from);
        p = { from: from.toISOString(), syncToken: f.syncInfo.syncToken, syncTime: f.syncInfo.syncTime, page: 0 };
        await lander.add(f.records);
      } else p = from;
      ctx.log.info("ringcentral full sync", { from: p.from, resumeAfterPage: p.page });
      const pages = api.callLog(new Date(p.from), new Date(p.syncTime), o.perPage, Math.max(1, p.page));
      for await (const { page, records } of pages) {
        if ((await lander.add(records)) && !ctx.dryRun) {
          p = { ...p, page };
          await writeCursor(ctx.pool, "ringcentral", CURSOR_FULL, JSON.stringify(p));
          if (outOfTime()) return undefined;
        }
      }
      return p;
    };

    let done: { syncToken: string; syncTime: string } | undefined;
    const progress = ctx.full ? undefined : await cursor(CURSOR_FULL);
    const token = ctx.full ? undefined : await cursor(CURSOR_TOKEN);
    if (progress) done = await full(JSON.parse(progress) as FullProgress);
    else if (!token) done = await full(new Date(now() - settings.history_days * 24 * HOUR));
    else {
      try {
        done = await incremental(api, lander, token, settings.late_window_hours, o.perPage);
      } catch (err) {
        if (!(err instanceof InvalidSyncTokenError)) throw err;
        const last = await cursor(CURSOR_TIME);
        const since = last ? Date.parse(last) : now() - settings.history_days * 24 * HOUR;
        ctx.log.warn("ringcentral sync token refused: full sync over an overlapping window", {
          reason: err.message,
          since: new Date(since).toISOString(),
        });
        done = await full(new Date(since - settings.overlap_hours * HOUR));
      }
    }
    await lander.flush();
    ctx.counts.requests = api.requests;
    if (ctx.dryRun) return;
    if (!done) {
      ctx.stop("stopped at its time budget (max_run_minutes): the next run resumes the full sync");
      return;
    }
    // everything read up to the token is stored: the token may move
    const client = await ctx.pool.connect();
    try {
      await client.query("BEGIN");
      await writeCursor(client, "ringcentral", CURSOR_TOKEN, done.syncToken);
      await writeCursor(client, "ringcentral", CURSOR_TIME, done.syncTime);
      await clearCursor(client, "ringcentral", CURSOR_FULL);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    } finally {
      client.release();
    }
  };
}

/** ISync from the token until a short batch, then the late-update window re-read by lastModifiedTime. */
async function incremental(
  api: RingCentralApi,
  lander: Lander,
  token: string,
  lateHours: number,
  perPage?: number,
): Promise<{ syncToken: string; syncTime: string }> {
  let info: { syncToken: string; syncTime: string };
  for (;;) {
    const r = await api.incrementalSync(token);
    if (r.syncInfo.syncType === "FSync") throw new InvalidSyncTokenError("RingCentral answered ISync with FSync");
    await lander.add(r.records);
    info = r.syncInfo;
    token = info.syncToken;
    if (r.records.length < ISYNC_BATCH) break;
  }
  const late = new Date(Math.max(0, Date.parse(info.syncTime) - lateHours * HOUR));
  for await (const { records } of api.callLog(late, new Date(info.syncTime), perPage)) await lander.add(records);
  return info;
}

/**
 * Compares what was read with what is stored (by record id and lastModifiedTime), counts it, and
 * lands the changes as files of the source ringcentral-calls, one import at a time.
 */
class Lander {
  private pending = new Map<string, CallRecord>();
  private files = 0;

  constructor(
    private readonly ctx: SyncContext,
    private readonly api: RingCentralApi,
    private readonly o: RingCentralSyncOptions,
  ) {}

  /**
   * Returns true when everything read so far is stored (nothing pending).
   * Each record read is counted once against what is known before it (pending in this run, else
   * stored): created, updated (a later lastModifiedTime), deleted, or unchanged; so
   * read = created + updated + deleted + unchanged.
   */
  async add(records: CallRecord[]): Promise<boolean> {
    const { ctx } = this;
    ctx.counts.read += records.length;
    const stored = await this.stored([...new Set(records.map((r) => r.id))].filter((id) => !this.pending.has(id)));
    for (const r of records) {
      const p = this.pending.get(r.id);
      const known = p ? { last_modified: modified(p), deleted: Boolean(p.deleted) } : stored.get(r.id);
      const live = known && !known.deleted;
      if (r.deleted) {
        if (!live) ctx.counts.unchanged++;
        else {
          ctx.counts.deleted++;
          this.pending.set(r.id, r);
        }
      } else if (!live) {
        ctx.counts.created++;
        this.pending.set(r.id, r);
      } else if (modified(r) > known.last_modified) {
        ctx.counts.updated++;
        this.pending.set(r.id, r);
      } else ctx.counts.unchanged++;
    }
    ctx.counts.requests = this.api.requests;
    if (this.pending.size >= (this.o.recordsPerFile ?? 50_000)) await this.flush();
    await ctx.heartbeat();
    return this.pending.size === 0;
  }

  private async stored(ids: string[]): Promise<Map<string, Seen>> {
    const { rows } = await this.ctx.pool.query<{ record_id: string; last_modified: Date; deleted: boolean }>(
      "SELECT record_id, last_modified, deleted FROM ringcentral_calls WHERE record_id = ANY($1::text[])",
      [ids],
    );
    return new Map(rows.map((r) => [r.record_id, { last_modified: r.last_modified.getTime(), deleted: r.deleted }]));
  }
  /** Lands what is pending as one file and waits for its import (nothing in a dry run). */
  async flush(): Promise<void> {
    const { ctx } = this;
    if (this.pending.size === 0) return;
    const records = [...this.pending.values()];
    this.pending = new Map();
    if (ctx.dryRun || !ctx.objects) return;
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    const key = `inbox/ringcentral-calls/${day}/ringcentral-calls-${ctx.runId}-${++this.files}.csv`;
    await ctx.objects.store.write(ctx.objects.bucket, key, callsFile(records), "text/csv");
    const imp = await this.waitForImport(key);
    ctx.log.info("ringcentral calls landed", { key, records: records.length, import: imp.id, status: imp.status });
    if (imp.status === "FAILED") throw new Error(`the import of ${key} failed: ${imp.status_reason ?? "no reason"}`);
    ctx.counts.failed += Number(imp.rejected ?? 0);
  }

  private async waitForImport(key: string) {
    const deadline = Date.now() + (this.o.importTimeoutMs ?? 3_600_000);
    for (;;) {
      const { rows } = await this.ctx.pool.query<{
        id: string;
        status: string;
        status_reason: string | null;
        rejected: string | null;
      }>(
        `SELECT id, status, status_reason, rejected FROM imports
          WHERE bucket = $1 AND object_key = $2 ORDER BY created_at DESC LIMIT 1`,
        [this.ctx.objects!.bucket, key],
      );
      const imp = rows[0];
      if (imp && (TERMINAL as readonly string[]).includes(imp.status)) return imp;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the import of ${key} (${imp ? imp.status : "not registered"})`);
      await this.ctx.heartbeat();
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 250));
    }
  }
}

function modified(r: CallRecord): number {
  return Date.parse(r.lastModifiedTime ?? r.startTime);
}

/** The records as a file of the source ringcentral-calls (its header, RFC 4180 quoting). */
export function callsFile(records: readonly CallRecord[]): string {
  const lines = [joinRecord(Object.keys(RINGCENTRAL_CALL_COLUMNS), ",")];
  for (const r of records)
    lines.push(
      joinRecord(
        [
          r.id,
          r.sessionId ?? "",
          r.startTime,
          r.lastModifiedTime ?? r.startTime,
          r.direction,
          r.from?.phoneNumber ?? "",
          r.to?.phoneNumber ?? "",
          r.result ?? "",
          r.duration === undefined ? "" : String(Math.round(r.duration)),
          r.deleted ? "true" : "false",
        ],
        ",",
      ),
    );
  return `${lines.join("\n")}\n`;
}
