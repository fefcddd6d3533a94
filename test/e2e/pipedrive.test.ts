/**
 * `leadpipe sync pipedrive` as a person runs it (the real CLI, a child process) against the fake
 * Pipedrive and the test's PostgreSQL (declared as the running platform in LEADPIPE_HOME): its
 * --json line, a kill -9 between a POST reaching Pipedrive and its bookkeeping that the next run
 * resumes without a second person, and the request budget at Pipedrive's published burst limit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createLogger, Integrations, type Pool } from "@leadpipe/core";
import type { RunningPostgres } from "../../packages/local/src/postgres";
import { useDatabase } from "../support/database";
import { type FakePipedrive, startFakePipedrive } from "../support/fake-pipedrive";
import { declareFields, seedLeads } from "../support/pipedrive-seed";

const CLI = path.resolve("packages/local/bin/leadpipe.js");
let pg: RunningPostgres;
let pool: Pool;
let tmp: string;
let home: string;
const log = createLogger({ service: "test" }, () => undefined);

useDatabase("leadpipe-pipedrive-e2e-", (db) => ({ pg, pool, tmp } = db), 120_000);
beforeAll(() => {
  home = path.join(tmp, "home");
  mkdirSync(home, { mode: 0o700 });
  // this process stands for the running platform (`npm start` in another terminal)
  writeFileSync(
    path.join(home, "runtime.json"),
    JSON.stringify({ pid: process.pid, databaseUrl: pg.url, s3Endpoint: "http://127.0.0.1:9", bucket: "unused" }),
    { mode: 0o600 },
  );
});

async function reset(): Promise<void> {
  await pool.query(
    `TRUNCATE pipedrive_snapshots, pipedrive_retry_ledger, person_crm_fields, integration_cursors,
              integration_sync_runs, leads, call_responses, mail_pieces, person_phones, persons CASCADE`,
  );
}

function declare(fake: FakePipedrive, extra: Record<string, unknown> = {}): Integrations.Integrations {
  const conn = { api_url: fake.url, api_token: fake.token, owner_field_map: declareFields(fake), ...extra };
  writeFileSync(path.join(home, "integrations.json"), JSON.stringify({ pipedrive: conn }), { mode: 0o600 });
  return { pipedrive: conn as Integrations.PipedriveConnection };
}

function leadpipe(...args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string; err: string }>;
} {
  const child = spawn(process.execPath, [CLI, "sync", ...args], {
    env: { ...process.env, LEADPIPE_HOME: home, DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, out, err })),
  );
  return { child, done };
}

describe("leadpipe sync pipedrive (the CLI)", () => {
  it("ends with one JSON object of exactly the contract's keys; a second run sends nothing; a failure alerts", async () => {
    await reset();
    const fake = await startFakePipedrive();
    try {
      declare(fake);
      await seedLeads(pool, 1, 2);
      const first = await leadpipe("pipedrive", "--json").done;
      expect(first.err).toBe("");
      expect(first.code).toBe(0);
      const result = JSON.parse(first.out.trim().split("\n").pop()!);
      expect(Object.keys(result)).toEqual([
        "system",
        "run_id",
        "read",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "failed",
        "requests",
      ]);
      expect(result).toMatchObject({ system: "pipedrive", read: 0, created: 4, updated: 0, deleted: 0, failed: 0 });
      expect(result.requests).toBe(fake.stats.requests);
      const posts = fake.stats.posts;
      const again = JSON.parse((await leadpipe("pipedrive", "--json").done).out.trim());
      expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 4, failed: 0 });
      expect(fake.stats.posts + fake.stats.patches).toBe(posts);
      // Pipedrive down for longer than the retries: the run fails, recorded and alerted as an import's failure is
      fake.fail(10, 500);
      const down = await leadpipe("pipedrive", "--json").done;
      expect(down.code).not.toBe(0);
      const alerts = readFileSync(path.join(home, "alerts.log"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const failedRun = await pool.query(
        "SELECT run_id::text, error FROM integration_sync_runs WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1",
      );
      expect(alerts.at(-1)).toMatchObject({ subject: "leadpipe pipedrive sync FAILED" });
      expect(alerts.at(-1).message).toContain(`The pipedrive sync run ${failedRun.rows[0].run_id} failed`);
      expect(alerts.at(-1).message).toMatch(/HTTP 500: Internal server error/);
      expect(alerts.at(-1).message).toContain("Re-run: npx leadpipe sync pipedrive");
      expect(JSON.stringify(alerts)).not.toContain(fake.token);
      expect(down.err).toContain("ALERT leadpipe pipedrive sync FAILED");
    } finally {
      await fake.close();
    }
  }, 120_000);
});

describe("a crash mid-sync resumes without double writes", () => {
  it("a kill -9 between the POST and its bookkeeping resumes without a second person", async () => {
    await reset();
    const fake = await startFakePipedrive();
    try {
      const connections = declare(fake);
      const [first, second] = await seedLeads(pool, 10, 2);
      const run = leadpipe("pipedrive", "--json");
      let killed = false;
      fake.onWrite = async (entity, method) => {
        if (killed || entity !== "persons" || method !== "POST") return;
        killed = true;
        // the person exists in Pipedrive; the sync dies before it hears so
        run.child.kill("SIGKILL");
        await new Promise((r) => run.child.once("exit", r));
      };
      const dead = await run.done;
      fake.onWrite = undefined;
      expect(dead.code).toBe(null);
      expect(fake.persons.size).toBe(1);
      const intent = await pool.query(
        "SELECT person_id::int AS person_id, marker, remote_id FROM pipedrive_snapshots WHERE entity = 'person'",
      );
      expect(intent.rows).toEqual([{ person_id: first, marker: expect.stringMatching(/^leadpipe:/), remote_id: null }]);
      // the dead run's lease runs out
      await pool.query(
        "UPDATE integration_sync_runs SET heartbeat_at = now() - interval '1 hour' WHERE status = 'running'",
      );
      const r = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
        trigger: "cli",
        full: false,
        dryRun: false,
      });
      expect(r).toMatchObject({ created: 3, failed: 0 }); // the first's deal, the second's person and deal
      expect(fake.stats.searches).toBe(1);
      expect(fake.persons.size).toBe(2);
      expect(fake.deals.size).toBe(2);
      const markerKey = connections.pipedrive!.owner_field_map!["person.leadpipe_id"]!;
      const adopted = [...fake.persons.values()].find((p) => p.custom_fields[markerKey] === intent.rows[0].marker)!;
      const snaps = await pool.query(
        "SELECT person_id::int AS person_id, remote_id::int AS remote_id FROM pipedrive_snapshots WHERE entity = 'person' ORDER BY 1",
      );
      expect(snaps.rows).toEqual([
        { person_id: first, remote_id: adopted.id },
        { person_id: second, remote_id: expect.any(Number) },
      ]);
      const runs = await pool.query("SELECT status, error FROM integration_sync_runs ORDER BY started_at");
      expect(runs.rows.map((x) => x.status)).toEqual(["failed", "succeeded"]);
      expect(runs.rows[0].error).toMatch(/^abandoned: no heartbeat since/);
    } finally {
      await fake.close();
    }
  }, 120_000);
  it("a kill -9 between a PATCH and its bookkeeping: the next run sends nothing again", async () => {
    await reset();
    const fake = await startFakePipedrive();
    try {
      const connections = declare(fake);
      const [one] = await seedLeads(pool, 20, 1);
      expect((await leadpipe("pipedrive", "--json").done).code).toBe(0);
      await pool.query("UPDATE persons SET last_name = 'Moved' WHERE person_id = $1", [one]);
      const run = leadpipe("pipedrive", "--json");
      let killed = false;
      fake.onWrite = async (entity, method) => {
        if (killed || entity !== "persons" || method !== "PATCH") return;
        killed = true;
        run.child.kill("SIGKILL");
        await new Promise((r) => run.child.once("exit", r));
      };
      expect((await run.done).code).toBe(null);
      fake.onWrite = undefined;
      expect(fake.stats.patches).toBe(1);
      await pool.query(
        "UPDATE integration_sync_runs SET heartbeat_at = now() - interval '1 hour' WHERE status = 'running'",
      );
      const r = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
        trigger: "cli",
        full: false,
        dryRun: false,
      });
      // the read finds our lost PATCH already in Pipedrive; the diff then has nothing left to send
      expect(r).toMatchObject({ created: 0, failed: 0 });
      expect(fake.stats.patches + fake.stats.posts).toBe(3); // the person and deal created, the one PATCH
      expect([...fake.persons.values()].map((p) => p.name)).toEqual(["Ann20 Moved"]);
      const again = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
        trigger: "cli",
        full: false,
        dryRun: false,
      });
      expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    } finally {
      await fake.close();
    }
  }, 120_000);
});

describe("the request budget at Pipedrive's published burst limit", () => {
  it("paced at the declared burst, with three records written at a time, the fake never answers 429", async () => {
    await reset();
    const fake = await startFakePipedrive({ burst: 6 });
    try {
      const connections = declare(fake, { burst_per_2s: 6, write_concurrency: 3 });
      await seedLeads(pool, 20, 8);
      const t0 = Date.now();
      const r = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
        trigger: "cli",
        full: false,
        dryRun: false,
      });
      const elapsed = Date.now() - t0;
      expect(r).toMatchObject({ created: 16, failed: 0 });
      expect(fake.stats.throttled).toBe(0);
      // 2 field lists + 2 empty reads + 16 POSTs = 20 requests at 6 per 2 s: at least three full windows
      expect(r.requests).toBe(20);
      expect(elapsed).toBeGreaterThanOrEqual(6000);
    } finally {
      await fake.close();
    }
  }, 120_000);

  it("declared faster than the account allows, it obeys x-ratelimit-remaining and 429 Retry-After", async () => {
    await reset();
    const fake = await startFakePipedrive({ burst: 4 });
    try {
      const connections = declare(fake, { burst_per_2s: 100 });
      await seedLeads(pool, 40, 6);
      const r = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
        trigger: "cli",
        full: false,
        dryRun: false,
      });
      expect(r).toMatchObject({ created: 12, failed: 0 });
      expect(fake.persons.size).toBe(6);
      expect(fake.deals.size).toBe(6);
      // every throttled answer was a request spent, and the run counted it
      expect(r.requests).toBe(fake.stats.requests);
      expect(r.requests).toBe(16 + fake.stats.throttled);
    } finally {
      await fake.close();
    }
  }, 120_000);
});
