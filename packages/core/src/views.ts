import type { Pool } from "./db";
import { refreshAll as refreshReports } from "./reports/refresh";

/**
 * Nightly and on demand: every report refreshed in full (the mail rollups rebuilt for every mail
 * date, every materialized view refreshed concurrently: readers are never blocked).
 */
export async function refreshAll(pool: Pool): Promise<string[]> {
  const r = await refreshReports(pool, { full: true });
  return r.views;
}
