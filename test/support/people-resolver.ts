/**
 * A people worker for crash tests: resolves one import in batches (People.resolveImport) and says on stdout when each
 * batch has committed ("batch N"). With PAUSE_AFTER_BATCH set it stops after that batch and waits to be killed.
 * The database comes from RESOLVER_DATABASE_URL (never the command line: it holds a password).
 *
 *   node --import tsx test/support/people-resolver.ts IMPORT_ID BATCH_SIZE
 */
import { createPool, People } from "@leadpipe/core";

const [importId, batchSize] = process.argv.slice(2);
const url = process.env.RESOLVER_DATABASE_URL;
if (!importId || !batchSize || !url)
  throw new Error("usage: RESOLVER_DATABASE_URL=… people-resolver.ts IMPORT_ID BATCH_SIZE");
const pauseAfter = Number(process.env.PAUSE_AFTER_BATCH ?? 0);
const pool = createPool(url, 2);
const r = await People.resolveImport({ pool }, importId, undefined, {
  batchSize: Number(batchSize),
  afterBatch: async (batch) => {
    process.stdout.write(`batch ${batch}\n`);
    if (batch === pauseAfter) await new Promise(() => setInterval(() => undefined, 60_000));
  },
});
process.stdout.write(`resolved ${JSON.stringify(r)}\n`);
await pool.end();
