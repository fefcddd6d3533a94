import type { Queryable } from "./db";

/** Refreshes every reporting view concurrently (readers are never blocked). */
export async function refreshAll(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT schemaname || '.' || matviewname AS name FROM pg_matviews WHERE schemaname = current_schema() ORDER BY 1");
  for (const { name } of rows) await db.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${name}`);
  return rows.map((r) => r.name);
}
