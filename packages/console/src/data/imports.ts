import { Import, type Queryable } from "@leadpipe/core";

/** The imports a console page lists: searched by file name, filtered by status, source and day. */
export interface ImportFilter {
  q?: string;
  status?: string;
  source?: string;
  /** YYYY-MM-DD: imports created that day (UTC). */
  day?: string;
  limit: number;
}

const STATUSES = ["PENDING", "STAGING", "PROCESSING", "COMPLETE", "COMPLETE_WITH_ERRORS", "FAILED", "DUPLICATE"];

export function parseImportFilter(query: Record<string, string | undefined>, maxLimit = 500): ImportFilter {
  const f: ImportFilter = { limit: Math.min(maxLimit, Math.max(1, Number.parseInt(query.limit ?? "100", 10) || 100)) };
  if (query.q?.trim()) f.q = query.q.trim().slice(0, 200);
  if (query.status && STATUSES.includes(query.status)) f.status = query.status;
  if (query.source?.trim()) f.source = query.source.trim().slice(0, 100);
  if (query.day && /^\d{4}-\d{2}-\d{2}$/.test(query.day)) f.day = query.day;
  return f;
}

export const IMPORT_COLUMNS = [
  "id",
  "file_name",
  "source",
  "status",
  "rows_read",
  "accepted",
  "rejected",
  "chunks",
  "rows_per_second",
  "status_reason",
  "created_at",
  "finished_at",
] as const;

export function importsQuery(f: ImportFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replaceAll("?", `$${params.length}`));
  };
  if (f.q)
    add(
      "i.file_name ILIKE '%' || ? || '%'",
      f.q.replace(/[\\%_]/g, (c) => `\\${c}`),
    );
  if (f.status) add("i.status = ?", f.status);
  if (f.source) add("i.source = ?", f.source);
  if (f.day) add("i.created_at >= ?::date AND i.created_at < ?::date + 1", f.day);
  params.push(f.limit);
  // The newest matching imports first (an index scan on seq), then their progress: the view is
  // computed for the rows shown only, not for every import ever.
  return {
    sql: `SELECT i.id, i.file_name, i.source, i.status, i.rows_read, i.accepted, i.rejected,
            p.chunks_done || '/' || coalesce(p.chunks_total, 0) AS chunks, p.rows_per_second::float8 AS rows_per_second,
            i.status_reason, i.created_at, i.finished_at, i.replay_of
       FROM (SELECT * FROM imports i ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY i.seq DESC LIMIT $${params.length}) i
       JOIN LATERAL (SELECT * FROM import_progress v WHERE v.id = i.id) p ON true
      ORDER BY i.seq DESC`,
    params,
  };
}

export async function listImports(db: Queryable, f: ImportFilter) {
  const q = importsQuery(f);
  return (await db.query(q.sql, q.params)).rows;
}

export async function sources(db: Queryable): Promise<string[]> {
  // A loose index scan over imports_source_created_at (migration 131), not a scan of every import.
  const { rows } = await db.query<{ source: string }>(
    `WITH RECURSIVE s AS (
       SELECT min(source) AS source FROM imports WHERE source IS NOT NULL
       UNION ALL
       SELECT (SELECT min(source) FROM imports i WHERE i.source > s.source) FROM s WHERE s.source IS NOT NULL)
     SELECT source FROM s WHERE source IS NOT NULL ORDER BY 1`,
  );
  return rows.map((r) => r.source);
}

export const isImportId = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** One import in full: the description the CLI prints, its chunks, and its first rejected rows. */
export async function importDetail(db: Queryable, id: string, rejectLimit = 200) {
  // three independent reads: in parallel over the pool, not one after the other
  const [description, { rows: chunks }, { rows: rejects }] = await Promise.all([
    Import.describe(db, id),
    db.query(
      `SELECT chunk_index, status, attempts, records, rows_read, accepted, rejected, inserted, updated, unchanged, duration_ms, finished_at
       FROM import_chunks WHERE import_id = $1 ORDER BY chunk_index`,
      [id],
    ),
    db.query(
      `SELECT row_number, error_type, field_name, field_value, error_message, raw_record
         FROM import_rejects WHERE import_id = $1 ORDER BY row_number, field_name LIMIT $2`,
      [id, rejectLimit],
    ),
  ]);
  return { description, chunks, rejects };
}

type Today = Awaited<ReturnType<typeof readToday>>;
/** How long one read of today's summary serves every page and poll of this process. */
export const TODAY_TTL_MS = 1000;
const todayCache = new WeakMap<Queryable, { at: number; value: Promise<Today> }>();

/**
 * Today's page: what arrived, what is running, what failed (with its reason), per source the last
 * arrival. The same for every user, so one read serves them all for a second: twenty open pages
 * polling the running imports every 2 s cost one read a second, not ten.
 */
export function today(db: Queryable, now = Date.now()): Promise<Today> {
  const hit = todayCache.get(db);
  if (hit && now - hit.at < TODAY_TTL_MS) return hit.value;
  const value = readToday(db);
  todayCache.set(db, { at: now, value });
  // a failed read is not kept: the next request reads again
  value.catch(() => {
    if (todayCache.get(db)?.value === value) todayCache.delete(db);
  });
  return value;
}

async function readToday(db: Queryable) {
  const { rows: arrived } = await db.query(
    `SELECT i.id, i.file_name, i.source, i.status, i.rows_read, i.accepted, i.rejected, i.created_at, i.finished_at
       FROM imports i WHERE i.created_at >= date_trunc('day', now()) ORDER BY i.seq DESC LIMIT 200`,
  );
  const { rows: running } = await db.query(
    `SELECT i.id, i.file_name, i.status, i.current_step, p.chunks_done || '/' || coalesce(p.chunks_total, 0) AS chunks,
            p.rows_done, p.rows_total, p.rows_per_second::float8 AS rows_per_second, i.created_at
       FROM (SELECT * FROM imports WHERE status IN ('PENDING', 'STAGING', 'PROCESSING')) i
       JOIN LATERAL (SELECT * FROM import_progress v WHERE v.id = i.id) p ON true ORDER BY i.seq`,
  );
  const { rows: failures } = await db.query(
    `SELECT i.id, i.file_name, i.source, i.failed_step, i.status_reason, i.alert_status, i.finished_at
       FROM imports i WHERE i.status = 'FAILED' AND i.created_at > now() - interval '7 days'
        AND NOT EXISTS (SELECT FROM imports r WHERE r.replay_of = i.id AND r.status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS'))
      ORDER BY i.seq DESC LIMIT 100`,
  );
  // A loose index scan over imports_source_created_at (migration 131): one probe per source.
  const { rows: lastBySource } = await db.query(
    `WITH RECURSIVE s AS (
       SELECT min(source) AS source FROM imports WHERE source IS NOT NULL
       UNION ALL
       SELECT (SELECT min(source) FROM imports i WHERE i.source > s.source) FROM s WHERE s.source IS NOT NULL)
     SELECT s.source,
            (SELECT max(created_at) FROM imports i WHERE i.source = s.source) AS last_arrival,
            (SELECT count(*) FROM imports i WHERE i.source = s.source AND i.created_at >= date_trunc('day', now()))::int AS today
       FROM s WHERE s.source IS NOT NULL ORDER BY s.source`,
  );
  return { arrived, running, failures, lastBySource };
}
