import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { runner } from "node-pg-migrate";
import type { Pool } from "./db";
import { loadZipCounties } from "./reports/geography";

/**
 * The database's schema: sql/migrations, then sql/functions and sql/views, then the reference
 * data the reports join. Apart from db.ts (connections), so that the reports may use db.ts.
 */
export function sqlDir(): string {
  return process.env.SQL_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../sql");
}

/**
 * Applies the numbered migrations (node-pg-migrate, each in its own transaction, under an
 * advisory lock), then the re-runnable functions and views, in file-name order.
 */
export async function migrate(pool: Pool, dir = sqlDir()): Promise<string[]> {
  const client = await pool.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: path.join(dir, "migrations"),
      direction: "up",
      migrationsTable: "schema_migrations",
      count: Infinity,
      // Work lands from parallel branches, each with its own block of migration numbers: a database
      // that already ran 020 must still accept 010 when it lands later.
      checkOrder: false,
      log: () => undefined,
    });
    await client.query("SELECT pg_advisory_lock(7241865325823965)");
    try {
      for (const sub of ["functions", "views"]) {
        const folder = path.join(dir, sub);
        const files = (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith(".sql")).sort();
        for (const f of files) await client.query(await readFile(path.join(folder, f), "utf8"));
      }
      // reference data the reports join (a no-op unless its package version changed)
      await loadZipCounties(client);
    } finally {
      await client.query("SELECT pg_advisory_unlock(7241865325823965)");
    }
    return applied.map((m) => m.name);
  } finally {
    client.release();
  }
}
