import type { Pool, PoolClient, Queryable } from "../db";
import { materializedViews, reports, rollupReports, viewsStaleAfter } from "./catalogue";

/**
 * One refresher at a time (a session advisory lock); others leave their work to it. The two-key
 * form keeps it apart from the single-bigint locks elsewhere (migrations, people).
 */
export const REFRESH_LOCK_KEYS = "hashtext('leadpipe'), hashtext('reports-refresh')";

export interface RefreshResult {
  /** false when another session was refreshing: it takes this caller's work too (coalesced). */
  ran: boolean;
  /** Mail pieces whose facts were recomputed (all of them in a full rebuild). */
  pieces: number;
  views: string[];
}

/** Marks the materialized views an import of these target kinds made stale (plus any named). */
export async function markStale(
  db: Queryable,
  kinds: readonly string[],
  views: readonly string[] = [],
): Promise<string[]> {
  const names = [...new Set([...views, ...kinds.flatMap(viewsStaleAfter)])];
  if (names.length > 0) await db.query("INSERT INTO report_stale_views (view_name) SELECT unnest($1::text[])", [names]);
  return names;
}

async function recordRefresh(
  client: PoolClient,
  names: readonly string[],
  started: number,
  mode: "incremental" | "full",
  detail: object,
) {
  await client.query(
    `INSERT INTO report_refreshes (report, data_as_of, duration_ms, mode, detail)
     SELECT unnest($1::text[]), now(), $2, $3, $4
     ON CONFLICT (report) DO UPDATE SET data_as_of = excluded.data_as_of, duration_ms = excluded.duration_ms,
       mode = excluded.mode, detail = excluded.detail`,
    [names, Math.round(performance.now() - started), mode, JSON.stringify(detail)],
  );
}

/** Asks the next rollup refresh to rebuild the mail rollups from scratch (the ZIP table changed). */
export const FULL_MAIL_REBUILD = "mail-rollups:full";
/** Asks the next rollup refresh to rebuild barcode-quality, rejects and lead-aging (migration 295 leaves it). */
export const FULL_QUALITY_REBUILD = "quality-rollups:full";
/** The marks in report_stale_views that ask for a rebuild rather than name a view. */
const FULL_REBUILDS = [FULL_MAIL_REBUILD, FULL_QUALITY_REBUILD];

/**
 * Folds the dirty pieces and the mortgage deltas into the rollups (all from scratch when full, or
 * when a full rebuild was asked for) in one REPEATABLE READ transaction.
 */
async function refreshRollups(client: PoolClient, full: boolean): Promise<number> {
  const started = performance.now();
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
  try {
    const { rows: asked } = await client.query<{ view_name: string }>(
      "DELETE FROM report_stale_views WHERE view_name = ANY($1) RETURNING view_name",
      [FULL_REBUILDS],
    );
    const mailFull = full || asked.some((a) => a.view_name === FULL_MAIL_REBUILD);
    const qualityFull = full || asked.some((a) => a.view_name === FULL_QUALITY_REBUILD);
    // each family timed on its own, so the record says where a slow refresh went
    const mailStarted = performance.now();
    const {
      rows: [m],
    } = await client.query<{ pieces: number; deltas: number; calls: number }>(
      `SELECT refresh_mail_rollups($1) AS pieces, refresh_mortgage_rollups($2) AS deltas,
              refresh_call_rollups($2) AS calls`,
      [mailFull, full],
    );
    const qualityStarted = performance.now();
    const {
      rows: [q],
    } = await client.query<{ reject_groups: number; barcodes: number; lead_days: number }>(
      "SELECT * FROM refresh_quality_rollups($1)",
      [qualityFull],
    );
    const ms = (from: number, to = performance.now()) => Math.round(to - from);
    await recordRefresh(
      client,
      rollupReports().map((x) => x.name),
      started,
      full ? "full" : "incremental",
      {
        mail_pieces: Number(m!.pieces),
        mail_full: mailFull,
        mortgage_deltas: Number(m!.deltas),
        call_deltas: Number(m!.calls),
        mail_mortgage_call_ms: ms(mailStarted, qualityStarted),
        reject_groups: Number(q!.reject_groups),
        barcodes: Number(q!.barcodes),
        lead_days: Number(q!.lead_days),
        quality_full: qualityFull,
        quality_ms: ms(qualityStarted),
      },
    );
    await client.query("COMMIT");
    return Number(m!.pieces);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** REFRESH … CONCURRENTLY one view, taking its stale marks and recording its time, in one transaction. */
async function refreshView(client: PoolClient, relation: string, mode: "incremental" | "full"): Promise<void> {
  const name = reports.find((r) => r.relation === relation)?.name ?? relation;
  const started = performance.now();
  await client.query("BEGIN");
  try {
    await client.query("DELETE FROM report_stale_views WHERE view_name = $1", [relation]);
    // relation comes from the catalogue (or the targets' own views), never from a user
    await client.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${quoteIdent(relation)}`);
    await recordRefresh(client, [name], started, mode, {});
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function pendingWork(db: Queryable): Promise<boolean> {
  const {
    rows: [r],
  } = await db.query<{ pending: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM report_dirty_pieces) OR EXISTS (SELECT 1 FROM report_mortgage_deltas)
            OR EXISTS (SELECT 1 FROM report_call_deltas) OR EXISTS (SELECT 1 FROM report_stale_views)
            OR EXISTS (SELECT 1 FROM report_barcode_deltas) OR EXISTS (SELECT 1 FROM report_dirty_barcodes)
            OR EXISTS (SELECT 1 FROM report_reject_deltas) OR EXISTS (SELECT 1 FROM report_dirty_lead_days) AS pending`,
  );
  return r!.pending;
}

/**
 * The refresh after ingestion, coalesced: whoever gets the lock rebuilds the dirty mail dates and
 * the stale views, then looks again until nothing is pending; everyone else returns at once (their
 * marks are committed, so the holder's next look takes them). Imports never wait for it: it only
 * reads the core tables, and the marks it drains have no key to wait on.
 */
export async function refreshPending(pool: Pool): Promise<RefreshResult> {
  const result: RefreshResult = { ran: false, pieces: 0, views: [] };
  for (;;) {
    const client = await pool.connect();
    let locked = false;
    try {
      const {
        rows: [l],
      } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${REFRESH_LOCK_KEYS}) AS ok`);
      locked = l!.ok;
      if (!locked) return result;
      result.ran = true;
      while (await pendingWork(client)) {
        result.pieces += await refreshRollups(client, false);
        const { rows } = await client.query<{ view_name: string }>(
          "SELECT DISTINCT view_name FROM report_stale_views WHERE view_name <> ALL($1) ORDER BY 1",
          [FULL_REBUILDS],
        );
        for (const { view_name } of rows) {
          await refreshView(client, view_name, "incremental");
          if (!result.views.includes(view_name)) result.views.push(view_name);
        }
      }
    } finally {
      if (locked) await client.query(`SELECT pg_advisory_unlock(${REFRESH_LOCK_KEYS})`).catch(() => undefined);
      client.release();
    }
    // A mark committed between our last look and the unlock would wait for the next import: look once more.
    if (!(await pendingWork(pool))) return result;
  }
}

/**
 * Nightly and on demand: every rollup rebuilt in full (or only what changed) and every
 * materialized view refreshed, waiting for a refresh in progress rather than skipping.
 */
export async function refreshAll(
  pool: Pool,
  opts: { full?: boolean; only?: readonly string[] } = {},
): Promise<RefreshResult> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${REFRESH_LOCK_KEYS})`);
    try {
      const only = opts.only ? new Set(opts.only) : null;
      const wanted = reports.filter((r) => !only || only.has(r.name));
      const mode = opts.full ? "full" : "incremental";
      const pieces = wanted.some((r) => r.refresh.kind === "rollup")
        ? await refreshRollups(client, opts.full ?? false)
        : 0;
      const views = wanted.filter((r) => r.refresh.kind === "materialized-view").map((r) => r.relation);
      // views not in the catalogue (older ones) are refreshed too, so nothing is left stale
      const { rows } = await client.query<{ name: string }>(
        "SELECT matviewname AS name FROM pg_matviews WHERE schemaname = current_schema() ORDER BY 1",
      );
      const others = only ? [] : rows.map((r) => r.name).filter((n) => !materializedViews().includes(n));
      for (const v of [...views, ...others]) await refreshView(client, v, mode);
      return { ran: true, pieces, views: [...views, ...others] };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${REFRESH_LOCK_KEYS})`);
    }
  } finally {
    client.release();
  }
}
