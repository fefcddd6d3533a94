import type { Queryable } from "@leadpipe/core";

export interface AuditFilter {
  username?: string;
  action?: string;
  outcome?: string;
  limit: number;
}

export function parseAuditFilter(q: Record<string, string | undefined>, maxLimit = 1000): AuditFilter {
  const f: AuditFilter = { limit: Math.min(maxLimit, Math.max(1, Number.parseInt(q.limit ?? "200", 10) || 200)) };
  if (q.username?.trim()) f.username = q.username.trim().toLowerCase().slice(0, 64);
  if (q.action?.trim()) f.action = q.action.trim().slice(0, 64);
  if (q.outcome && ["ok", "refused", "error"].includes(q.outcome)) f.outcome = q.outcome;
  return f;
}

/** The console's actions and the people layer's merges, newest first, in one list. */
export function auditQuery(f: AuditFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  if (f.username) {
    params.push(f.username);
    where.push(`username = $${params.length}`);
  }
  if (f.action) {
    params.push(f.action + "%");
    where.push(`action LIKE $${params.length}`);
  }
  if (f.outcome) {
    params.push(f.outcome);
    where.push(`outcome = $${params.length}`);
  }
  params.push(f.limit);
  return {
    sql: `SELECT * FROM (
            SELECT at, username, role, action, target, outcome, detail::text AS detail, ip FROM console_audit
            UNION ALL
            SELECT at, coalesce(detail->>'by', 'pipeline') AS username, NULL, 'people.' || action, 'person ' || person_id, 'ok',
                   detail::text, NULL FROM merge_audit WHERE action IN ('merge', 'unmerge', 'override')
          ) a ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC LIMIT $${params.length}`,
    params,
  };
}

export async function auditLog(db: Queryable, f: AuditFilter) {
  const q = auditQuery(f);
  return (await db.query(q.sql, q.params)).rows;
}
