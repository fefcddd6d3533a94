/**
 * The local platform's database watch on a real embedded PostgreSQL whose postmaster is killed:
 * the loss is said once, the platform takes no files meanwhile, the postmaster is started again on
 * its folder and port, and the recovery hook runs before files are taken again.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPool, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { DatabaseWatch } from "../../packages/local/src/database-watch";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-db-watch-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 2);
});
afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  if (pg?.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

it("says a lost database once, takes no files until it is back, restarts a dead postmaster, recovers before taking files", async () => {
  const events: string[] = [];
  const watch = new DatabaseWatch(pool, pg, {
    lost: (err) => events.push(`lost: ${err.message}`),
    back: async () => {
      // Recovery runs against the database that is back, and before files are taken again.
      const {
        rows: [r],
      } = await pool.query<{ one: number }>("SELECT 1 AS one");
      events.push(`back (${r!.one}), up=${watch.up}`);
    },
    log: (line) => events.push(line.startsWith("embedded PostgreSQL started again") ? "restarted" : "log"),
  });
  expect(await watch.check()).toBe(true);
  expect(watch.up).toBe(true);

  const postmaster = Number(readFileSync(path.join(pg.dataDir!, "postmaster.pid"), "utf8").split("\n")[0]);
  process.kill(postmaster, "SIGKILL");
  // Its backends end when they see the postmaster gone: until then a query may still be answered.
  const deadline = Date.now() + 60_000;
  let taking = true;
  while (taking && Date.now() < deadline) taking = await watch.check();
  expect(taking).toBe(false);
  expect(watch.up).toBe(false);
  // Checked again and again while down: said once.
  while (!(await watch.check())) {
    expect(watch.up).toBe(false);
    if (Date.now() > deadline) throw new Error(`the database did not come back: ${events.join("; ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(watch.up).toBe(true);
  expect(events.filter((e) => e.startsWith("lost"))).toHaveLength(1);
  expect(events).toContain("restarted");
  expect(events.filter((e) => e.startsWith("back"))).toEqual(["back (1), up=false"]);
  expect(events.indexOf("restarted")).toBeLessThan(events.findIndex((e) => e.startsWith("back")));
  // The same port: the URL every handler was given still works.
  const {
    rows: [r],
  } = await pool.query<{ port: string }>("SHOW port");
  expect(pg.url).toContain(`:${r!.port}/`);
}, 120_000);
