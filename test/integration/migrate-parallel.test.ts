import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, migrate, Migration, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { startMariaDb, type RunningMariaDb } from "../support/mariadb";

// Parallel ranges of a MySQL read: every lane on one snapshot (FLUSH TABLES WITH READ LOCK held while
// the connections start theirs), the same objects as one lane, nothing a concurrent writer commits half-seen.

let pgServer: RunningPostgres;
let pool: Pool;
let maria: RunningMariaDb;
let root: mysql.Connection;
let tmp: string;
let url: string;
let plainUrl: string;

const ROWS = 3_000;
const RANGE_ROWS = 150;
/** Every balance starts at 100: transfers between rows keep the table's sum, as any snapshot must see it. */
const TOTAL = ROWS * 100;
const opts: Migration.RunOptions = { mapping: { tables: {} }, rangeRows: RANGE_ROWS, timeZone: "UTC" };

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-migrate-parallel-"));
  pgServer = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pgServer.url, 4);
  await migrate(pool);
  maria = await startMariaDb(path.join(tmp, "mariadb"));
  root = await maria.root();
  await root.query(`CREATE DATABASE legacy CHARACTER SET utf8mb4;
    CREATE TABLE legacy.customers (id INT UNSIGNED PRIMARY KEY, fname VARCHAR(50), lname VARCHAR(50),
      email VARCHAR(100), balance INT NOT NULL) ENGINE=InnoDB;
    CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY 'legacy-pass';
    GRANT SELECT ON legacy.* TO 'legacy'@'127.0.0.1';
    GRANT RELOAD ON *.* TO 'legacy'@'127.0.0.1';
    CREATE USER 'plain'@'127.0.0.1' IDENTIFIED BY 'plain-pass';
    GRANT SELECT ON legacy.* TO 'plain'@'127.0.0.1';`);
  // Keys 3, 6, 9 …: a writer can insert between them (3k + 1 low in the table, 3k + 2 high).
  const rows = Array.from({ length: ROWS }, (_v, i) => [3 * (i + 1), `Ann${i}`, `Smith${i}`, `a${i}@example.com`, 100]);
  await root.query("INSERT INTO legacy.customers VALUES ?", [rows]);
  url = `mysql://legacy:legacy-pass@127.0.0.1:${maria.port}/legacy`;
  plainUrl = `mysql://plain:plain-pass@127.0.0.1:${maria.port}/legacy`;
}, 300_000);

afterAll(async () => {
  await root?.end();
  await maria?.stop();
  await pool?.end();
  await pgServer?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Lands a source into a map of objects (key → body), as the landing bucket would hold them. */
async function landAll(parallel: number, land?: (key: string, body: Buffer) => Promise<void>) {
  const reader = await Migration.openReader(url, { parallel });
  const objects = new Map<string, Buffer>();
  try {
    const runId = await Migration.startRun(pool, reader.label, opts);
    await Migration.landTables(
      {
        pool,
        reader,
        land:
          land ??
          (async (key, body) => {
            objects.set(key, body);
          }),
      },
      runId,
      opts,
    );
    return { runId, objects, lanes: reader.lanes };
  } finally {
    await reader.close();
  }
}

/** A run's checkpoints, free of the run id. */
async function ranges(runId: string) {
  const { rows } = await pool.query(
    `SELECT range_no, after_key, last_key, source_rows, quarantined, pks, object_key, sha256, checksum
       FROM migration_ranges WHERE run_id = $1 ORDER BY range_no`,
    [runId],
  );
  return rows;
}

const digest = (objects: Map<string, Buffer>) =>
  [...objects]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, b]) => [k, createHash("sha256").update(b).digest("hex")]);

/** The legacy rows in landed objects: id → balance (from the record's kept columns). */
function landedRows(objects: Iterable<Buffer>): Map<number, number> {
  const out = new Map<number, number>();
  for (const body of objects) {
    for (const r of parse(body, { columns: true }) as { legacy_extra: string }[]) {
      const extra = JSON.parse(r.legacy_extra) as { pk: string; columns: { balance: string } };
      out.set(Number(extra.pk), Number(extra.columns.balance));
    }
  }
  return out;
}

describe("leadpipe migrate --parallel (MariaDB)", () => {
  it("reads in two lanes on one snapshot and lands the same objects and checkpoints as one lane", async () => {
    const serial = await landAll(1);
    const parallel = await landAll(2);
    expect(serial.lanes).toBe(1);
    expect(parallel.lanes).toBe(2);
    expect(serial.objects.size).toBe(ROWS / RANGE_ROWS);
    expect(digest(parallel.objects)).toEqual(digest(serial.objects));
    expect(await ranges(parallel.runId)).toEqual(await ranges(serial.runId));
    expect(landedRows(parallel.objects.values()).size).toBe(ROWS);
  });

  it("sees nothing a concurrent writer commits half: pairs of rows and transfers between rows", async () => {
    let stop = false;
    let commits = 0;
    const writer = await maria.root();
    const write = (async () => {
      for (let k = 1; !stop; k++) {
        const m = k % 200;
        const low = 3 * m + 1; // among the first ranges
        const high = 3 * (ROWS - m) + 2; // among the last ranges
        await writer.query("START TRANSACTION");
        // A pair: both rows or neither.
        await writer.query(
          "INSERT INTO legacy.customers VALUES (?, 'Pair', 'Low', NULL, 0), (?, 'Pair', 'High', NULL, 0) " +
            "ON DUPLICATE KEY UPDATE balance = balance",
          [low, high],
        );
        // A transfer from a row read early to one read late: the sum stays TOTAL.
        await writer.query("UPDATE legacy.customers SET balance = balance - 7 WHERE id = ?", [3 * (1 + (k % 300))]);
        await writer.query("UPDATE legacy.customers SET balance = balance + 7 WHERE id = ?", [3 * (ROWS - (k % 300))]);
        await writer.query("COMMIT");
        commits++;
      }
    })();
    let landed: Map<number, number>;
    let during = 0;
    try {
      // Some transactions commit before the snapshot, the rest while the lanes read.
      while (commits < 20) await new Promise((r) => setTimeout(r, 10));
      const before = commits;
      const objects = new Map<string, Buffer>();
      const run = await landAll(2, async (key, body) => {
        objects.set(key, body);
        // Reading slower than the writer writes: every range is read while transactions commit.
        await new Promise((r) => setTimeout(r, 20));
      });
      during = commits - before;
      expect(run.lanes).toBe(2);
      landed = landedRows(objects.values());
    } finally {
      stop = true;
      await write;
      await writer.end();
    }
    expect(during).toBeGreaterThan(10);
    const pairs = [...landed.keys()].filter((id) => id % 3 !== 0);
    for (const id of pairs) {
      // low = 3m + 1 and high = 3(ROWS - m) + 2 were written together.
      const mate = id % 3 === 1 ? 3 * (ROWS - (id - 1) / 3) + 2 : 3 * (ROWS - (id - 2) / 3) + 1;
      expect(landed.has(mate), `pair of ${id}`).toBe(true);
    }
    expect(pairs.length % 2).toBe(0);
    expect([...landed.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
    // The table kept changing after the snapshot: the source now holds more than was landed.
    const [[now]] = (await root.query("SELECT count(*) AS n FROM legacy.customers")) as unknown as [{ n: number }[]];
    expect(Number(now!.n)).toBeGreaterThan(landed.size);
  });

  it("a lane that fails stops the run; --resume lands the rest and ends as an uninterrupted run", async () => {
    const clean = await landAll(2);
    let puts = 0;
    const objects = new Map<string, Buffer>();
    const first = await landAll(2, async (key, body) => {
      if (++puts === 6) throw new Error("the bucket went away");
      objects.set(key, body);
    }).catch((err: Error) => err);
    expect(first).toBeInstanceOf(Error);
    const {
      rows: [run],
    } = await pool.query<{ run_id: string }>("SELECT run_id FROM migration_runs ORDER BY started_at DESC LIMIT 1");
    const reader = await Migration.openReader(url, { parallel: 2 });
    try {
      await Migration.landTables(
        {
          pool,
          reader,
          land: async (key, body) => {
            objects.set(key, body);
          },
        },
        run!.run_id,
        opts,
      );
    } finally {
      await reader.close();
    }
    expect(await ranges(run!.run_id)).toEqual(await ranges(clean.runId));
    expect(digest(objects)).toEqual(digest(clean.objects));
  });

  it("without the RELOAD privilege reads with one connection and says why", async () => {
    const lines: string[] = [];
    const reader = await Migration.openReader(plainUrl, { parallel: 2, log: (l) => lines.push(l) });
    try {
      expect(reader.lanes).toBe(1);
      expect(lines.join("\n")).toMatch(/needs the RELOAD privilege/);
    } finally {
      await reader.close();
    }
  });
});
