import pg from "pg";

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
