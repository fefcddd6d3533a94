import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";
import { runner } from "node-pg-migrate";
import { loadZipCounties } from "./reports/geography";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

// NUMERIC and BIGINT (count(*)) arrive as strings by default; our counts fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));
// DATE stays a 'YYYY-MM-DD' string: no time-zone shifts.
pg.types.setTypeParser(1082, (v) => v);

export function createPool(connection: string | pg.PoolConfig, max = 4): Pool {
  const cfg: pg.PoolConfig = typeof connection === "string" ? { connectionString: connection } : connection;
  const pool = new pg.Pool({ max, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000, ...cfg });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return pool;
}

/** Runs `fn` in one transaction: committed if it returns, rolled back if it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    try {
      await client.query("ROLLBACK");
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

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
