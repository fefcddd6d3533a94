/**
 * Claims on landings and deliveries (sql/functions/pullers.sql, packages/core/src/pullers/claim.ts)
 * on a real PostgreSQL: a claim held in its lease is refused to another run, taken over from a
 * holder seen dead, renewed by its holder's heartbeat, and a holder that lost it is told to stop.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createPool, migrate, type Pool } from "../../packages/core/src/index";
import { claimOwner, heartbeat, holderIsDead, LeaseLostError } from "../../packages/core/src/pullers/claim";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;
const log = createLogger({ service: "test" }, () => undefined);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-claims-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 4);
  await migrate(pool);
}, 180_000);
afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  if (pg?.dataDir) rmSync(pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** The claim string of a process that existed and is gone now (a run killed with -9). */
async function deadHolder(): Promise<string> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  await new Promise((r) => child.once("spawn", r));
  const { readFileSync } = await import("node:fs");
  const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
  const started = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  const [prefix] = claimOwner().split(`:${process.pid}:`);
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  return `${prefix}:${child.pid}:${started}@${os.hostname()}`;
}

const claimDelivery = async (owner: string, takeFrom: string | null = null, sha = "a".repeat(64)) =>
  (
    await pool.query<{ id: string; decision: string; holder: string | null }>(
      "SELECT * FROM puller_delivery_claim('agency', 'outbox/leads/x.csv', 'x.csv', 10, $1, 60, $2, $3)",
      [sha, owner, takeFrom],
    )
  ).rows[0]!;

describe("delivery claims", () => {
  it("refuses a live holder's claim, takes over a dead holder's at once, and never a sent one", async () => {
    const dead = await deadHolder();
    expect(holderIsDead(dead)).toBe(true);
    const first = await claimDelivery(dead);
    expect(first.decision).toBe("send");
    // Another run sees it busy, and who holds it; taking it over needs the holder's exact name.
    const busy = await claimDelivery(claimOwner());
    expect([busy.decision, busy.holder]).toEqual(["busy", dead]);
    expect((await claimDelivery(claimOwner(), "linux:someone-else")).decision).toBe("busy");
    const taken = await claimDelivery(claimOwner(), dead);
    expect(taken.decision).toBe("send");
    const {
      rows: [row],
    } = await pool.query<{ claimed_by: string; attempts: number }>(
      "SELECT claimed_by, attempts FROM puller_deliveries WHERE id = $1",
      [taken.id],
    );
    expect(row).toEqual({ claimed_by: claimOwner(), attempts: 2 });
    await pool.query("SELECT puller_delivery_done($1, true, 'ok')", [taken.id]);
    expect((await claimDelivery(claimOwner(), claimOwner())).decision).toBe("sent");
  });
});

describe("the heartbeat", () => {
  it("renews its holder's lease while it runs, and tells a holder whose claim was taken to stop", async () => {
    const sha = "b".repeat(64);
    const mine = await claimDelivery(claimOwner(), null, sha);
    const id = Number(mine.id);
    const until = async () =>
      (await pool.query<{ t: Date }>("SELECT claimed_until AS t FROM puller_deliveries WHERE id = $1", [id])).rows[0]!
        .t;
    const before = await until();
    const lost: LeaseLostError[] = [];
    // A 3 s lease renewed every second.
    const beat = heartbeat(pool, "puller_deliveries", id, claimOwner(), log, (err) => lost.push(err), 3);
    await new Promise((r) => setTimeout(r, 2500));
    const renewed = await until();
    // Renewed to now + 3 s: later than the 60 s lease's end minus the time passed, and held by us.
    expect(renewed.getTime()).toBeLessThan(before.getTime());
    expect(renewed.getTime()).toBeGreaterThan(Date.now());
    expect(lost).toEqual([]);
    // Another run takes the claim (as it would from a holder it saw dead): the next beat says so, once.
    await pool.query("UPDATE puller_deliveries SET claimed_by = 'linux:other' WHERE id = $1", [id]);
    await new Promise((r) => setTimeout(r, 2500));
    beat.stop();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(LeaseLostError);
    expect(lost[0]!.message).toContain("another run holds it now");
    const {
      rows: [r],
    } = await pool.query<{ held: boolean }>("SELECT puller_claim_renew('puller_files', 0, 'x', 60) AS held");
    expect(r!.held).toBe(false);
    await expect(pool.query("SELECT puller_claim_renew('imports', 1, 'x', 60)")).rejects.toThrowError(
      "puller_claim_renew: no claims in imports",
    );
  });
});
