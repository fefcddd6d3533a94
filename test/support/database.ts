import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createPool, migrate, type Pool, type Queryable } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

export interface DatabaseUse {
  /** A fresh folder under the system's temp folder (the server's data is in its pg/), removed afterwards. */
  tmp: string;
  pg: RunningPostgres;
  /** Four connections to the migrated database. */
  pool: Pool;
}

/**
 * Starts an embedded PostgreSQL for a test file (beforeAll), migrated, and stops it and removes its
 * folder afterwards. Hooks the file registers after this call run after the database is up and are
 * undone before it stops. `ready` hands the database to the file's own variables.
 */
export function useDatabase(prefix: string, ready: (db: DatabaseUse) => void, timeoutMs?: number): void {
  let use: DatabaseUse | undefined;
  let tmp: string | undefined;
  let pg: RunningPostgres | undefined;
  let pool: Pool | undefined;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
    pg = await startPostgres(path.join(tmp, "pg"));
    pool = createPool(pg.url, 4);
    await migrate(pool);
    use = { tmp, pg, pool };
    ready(use);
  }, timeoutMs);
  afterAll(async () => {
    await pool?.end();
    await pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
}

/** Every people table emptied, sequences restarted (each test of a people file starts from no one). */
export async function wipePeople(db: Queryable): Promise<void> {
  await db.query(`TRUNCATE persons, person_records, person_keys, person_value_counts, person_links, person_no_links,
    person_phones, person_emails, person_addresses, person_overrides, person_merges, merge_audit, people_resolutions,
    people_resolution_progress, person_anchor_members RESTART IDENTITY CASCADE`);
}
