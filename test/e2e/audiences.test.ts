import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { parse as parseCsv } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { Audience, createLogger } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { readAll } from "../../packages/core/src/imports/streams";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { audienceCommand } from "../../packages/local/src/commands/audience";
import { platformConnection } from "../../packages/local/src/commands/connect";
import { writeDay } from "../../packages/local/src/generate/day";
import { complianceDayWriters } from "../../packages/local/src/generate/compliance";
import { usePlatform } from "../support/platform";

const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
const AS_OF = "2026-11-20";
let platform: LocalPlatform;
let tmp: string;

async function ingest(name: string, dir = sampleDay) {
  const d = await platform.drop(path.join(dir, name));
  const [row] = await platform.waitFor([d]);
  return row!;
}

async function rejects(importId: string) {
  const { rows } = await platform.pool.query(
    "SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects WHERE import_id = $1 ORDER BY row_number",
    [importId],
  );
  return rows;
}

const deps = () => ({
  pool: platform.pool,
  store: s3Store(platform.s3),
  settings: { bucket: platform.bucket, chunkRows: 100, maxFileBytes: 1e9 },
  log: createLogger({}, () => undefined),
});

async function readObject(uri: string): Promise<string> {
  const key = uri.replace(`s3://${platform.bucket}/`, "");
  return (await readAll(await deps().store.read(platform.bucket, key))).toString("utf8");
}

async function touchpoints(campaign: string) {
  const { rows } = await platform.pool.query(
    "SELECT customer_id, channel, touched_on FROM touchpoints WHERE campaign = $1 ORDER BY touched_on, customer_id",
    [campaign],
  );
  return rows;
}

usePlatform("leadpipe-audiences-", { chunkRows: 100, workers: 1 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

describe("compliance feeds through the pipeline", () => {
  it("customers: snapshots land, a bad flag is rejected with its row, equal timestamps resolve to the later row", async () => {
    const row = await ingest("customers-2026-11-20.csv");
    expect(row).toMatchObject({
      source: "customers",
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 25,
      accepted: 24,
      rejected: 1,
      inserted: 23,
      updated: 0,
      unchanged: 1,
    });
    expect(await rejects(row.id)).toEqual([
      {
        row_number: 26,
        error_type: "validation",
        field_name: "is_active",
        field_value: "maybe",
        error_message: "expected true or false",
      },
    ]);
    const c017 = await platform.pool.query(
      "SELECT is_active, source_row FROM customer_snapshots WHERE customer_id = 'C017'",
    );
    expect(c017.rows).toEqual([{ is_active: false, source_row: 21 }]);
    const c020 = await platform.pool.query(
      "SELECT email, phone, loyalty_tier FROM customer_snapshots WHERE customer_id = 'C020'",
    );
    expect(c020.rows).toEqual([{ email: "rosa@example.com", phone: "+15125550106", loyalty_tier: "platinum" }]);
    const blank = await platform.pool.query(
      "SELECT customer_id, email FROM customer_snapshots WHERE customer_id IN ('C004', 'C005') ORDER BY 1",
    );
    expect(blank.rows).toEqual([
      { customer_id: "C004", email: null },
      { customer_id: "C005", email: null },
    ]);
  });

  it("bookings: a non-numeric amount is a rejected row with its reason; amounts with separators are exact", async () => {
    const row = await ingest("bookings-2026-11-20.csv");
    expect(row).toMatchObject({
      source: "bookings",
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 25,
      accepted: 24,
      rejected: 1,
      inserted: 24,
    });
    expect(await rejects(row.id)).toEqual([
      {
        row_number: 25,
        error_type: "validation",
        field_name: "booking_amount",
        field_value: "not-a-number",
        error_message: "expected an amount like 312500.00",
      },
    ]);
    const b = await platform.pool.query(
      "SELECT booking_amount, booking_status FROM bookings WHERE booking_id IN ('B002', 'B022') ORDER BY booking_id",
    );
    expect(b.rows).toEqual([
      { booking_amount: "1200.50", booking_status: "COMPLETED" },
      { booking_amount: "1250.25", booking_status: "COMPLETED" },
    ]);
  });

  it("consent events, suppressions and the internal opt-out list land with their rejects", async () => {
    const consent = await ingest("consent_events-2026-11-20.csv");
    expect(consent).toMatchObject({ source: "consent-events", rows_read: 24, accepted: 23, rejected: 1, inserted: 23 });
    expect(await rejects(consent.id)).toEqual([
      {
        row_number: 25,
        error_type: "validation",
        field_name: "consent_status",
        field_value: "MAYBE",
        error_message: "expected one of OPT_IN, OPT_OUT",
      },
    ]);
    const sup = await ingest("suppressions-2026-11-20.csv");
    expect(sup).toMatchObject({ source: "suppressions", rows_read: 5, accepted: 4, rejected: 1, inserted: 4 });
    expect(await rejects(sup.id)).toEqual([
      {
        row_number: 6,
        error_type: "rule",
        field_name: "expires_at",
        field_value: "2026-11-01T00:00:00.000Z",
        error_message: "expires_at must be after suppressed_at (2026-11-10T00:00:00.000Z)",
      },
    ]);
    const opt = await ingest("opt-outs-2026-11-20.csv");
    expect(opt).toMatchObject({ source: "internal-opt-outs", rows_read: 3, accepted: 2, rejected: 1, inserted: 2 });
    expect(await rejects(opt.id)).toEqual([
      {
        row_number: 4,
        error_type: "rule",
        field_name: "value",
        field_value: "not-a-phone",
        error_message: "expected a US phone number with 10 digits for channel sms",
      },
    ]);
    const stored = await platform.pool.query("SELECT channel, value, origin FROM opt_outs ORDER BY channel");
    expect(stored.rows).toEqual([
      { channel: "call", value: "+15125550106", origin: "internal" },
      { channel: "email", value: "gus@example.com", origin: "internal" },
    ]);
  });

  it("do-not-call registry: headerless files; a full file replaces its area code, a change file removes a number", async () => {
    const adds = await ingest("dnc-additions-2026-11-19.txt");
    expect(adds).toMatchObject({ source: "dnc-additions", status: "COMPLETE", rows_read: 2, inserted: 2 });
    const full = await ingest("dnc-full-512-2026-11-20.txt");
    expect(full).toMatchObject({ source: "dnc-full", status: "COMPLETE", rows_read: 3, inserted: 3 });
    const removals = await ingest("dnc-removals-2026-11-20.txt");
    expect(removals).toMatchObject({
      source: "dnc-removals",
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 2,
      accepted: 1,
      rejected: 1,
      updated: 1,
    });
    expect(await rejects(removals.id)).toEqual([
      {
        row_number: 2,
        error_type: "validation",
        field_name: "number",
        field_value: "12345",
        error_message: 'expected a 10-digit number or "area code,number" (e.g. 2125550101 or 212,5550101)',
      },
    ]);
    const listed = await platform.pool.query("SELECT phone::text, listed FROM dnc_numbers ORDER BY phone");
    expect(listed.rows).toEqual([
      { phone: "5125550101", listed: true },
      { phone: "5125550102", listed: false }, // removed by the change file
      { phone: "5125550103", listed: false }, // left out of the later full file for 512
      { phone: "5125550199", listed: true },
      { phone: "7375550104", listed: true }, // another area code: the 512 full file does not touch it
    ]);
  });

  it("customers: the phone column is optional", async () => {
    const dir = path.join(tmp, "nophone");
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, "customers-crm-export.csv"),
      "customer_id,email,home_state,loyalty_tier,is_active,updated_at\nC900,zoe@example.com,TX,gold,yes,2027-02-01\nC901,,TX,gold,perhaps,2027-02-01\n",
    );
    const row = await ingest("customers-crm-export.csv", dir);
    expect(row).toMatchObject({ source: "customers", rows_read: 2, accepted: 1, rejected: 1, inserted: 1 });
    expect(await rejects(row.id)).toEqual([
      {
        row_number: 3,
        error_type: "validation",
        field_name: "is_active",
        field_value: "perhaps",
        error_message: "expected true or false",
      },
    ]);
    const c = await platform.pool.query(
      "SELECT email, phone, is_active, updated_at FROM customer_snapshots WHERE customer_id = 'C900'",
    );
    expect(c.rows).toEqual([
      { email: "zoe@example.com", phone: null, is_active: true, updated_at: new Date("2027-02-01T00:00:00Z") },
    ]);
  });

  it("a listing older than its area code's latest full file is ignored, whatever order the files ran in", async () => {
    const dir = path.join(tmp, "dnc-late");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "dnc-full-303.txt"), "3035550001\n");
    const full = await ingest("dnc-full-303.txt", dir);
    expect(full).toMatchObject({ status: "COMPLETE", inserted: 1 });
    const {
      rows: [f],
    } = await platform.pool.query("SELECT base_seq FROM dnc_full_files WHERE area_code = 303");
    // An additions row from a file that landed before the full file (smaller src_seq) is promoted late; one that landed after is not ignored.
    const late = "00000000-0000-4000-8000-000000000303";
    await platform.pool.query(
      `INSERT INTO staging_dnc_numbers (import_id, chunk_index, source_row, src_seq, partner, phone, action)
       VALUES ($1, 0, 1, $2::bigint - 10, '', 3035550002, 'add'), ($1, 0, 2, $2::bigint + (1::bigint << 32), '', 3035550003, 'add')`,
      [late, f.base_seq],
    );
    const promoted = await platform.pool.query("SELECT * FROM promote_dnc_numbers($1, 0)", [late]);
    expect(promoted.rows).toEqual([{ inserted: 1, updated: 0 }]);
    const r = await platform.pool.query(
      "SELECT phone::text, listed FROM dnc_numbers WHERE phone / 10000000 = 303 ORDER BY phone",
    );
    expect(r.rows).toEqual([
      { phone: "3035550001", listed: true },
      { phone: "3035550003", listed: true },
    ]);
  });
});

describe("generated compliance day", () => {
  it("every generated feed ingests through the pipeline with exactly its planted bad rows rejected", async () => {
    const dir = path.join(tmp, "generated");
    mkdirSync(dir);
    const files = await writeDay(
      dir,
      { day: "2027-01-05", rows: 200, badEvery: 50 },
      complianceDayWriters.map((w) => w.source),
    );
    const rows = [];
    for (const f of files) rows.push(await ingest(path.basename(f), dir));
    expect(rows.map((r) => [r.source, r.status, r.rows_read, r.rejected])).toEqual([
      ["customers", "COMPLETE_WITH_ERRORS", 200, 4],
      ["bookings", "COMPLETE_WITH_ERRORS", 200, 4],
      ["consent-events", "COMPLETE_WITH_ERRORS", 200, 4],
      ["suppressions", "COMPLETE", 10, 0],
      ["internal-opt-outs", "COMPLETE", 4, 0],
      ["dnc-additions", "COMPLETE", 20, 0],
    ]);
    const reasons = await platform.pool.query(
      "SELECT DISTINCT field_name, error_message FROM import_rejects WHERE import_id = ANY ($1::uuid[]) ORDER BY 1",
      [rows.map((r) => r.id)],
    );
    expect(reasons.rows).toEqual([
      { field_name: "booking_amount", error_message: "expected an amount like 312500.00" },
      { field_name: "consent_status", error_message: "expected one of OPT_IN, OPT_OUT" },
      { field_name: "is_active", error_message: "expected true or false" },
    ]);
  });
});

const RECENT_BOOKERS = [
  [
    "customer_id",
    "email",
    "home_state",
    "loyalty_tier",
    "bookings_last_365_days",
    "total_spend_last_365_days",
    "last_booking_date",
  ],
  ["C001", "ana@example.com", "TX", "gold", "1", "250.00", "2026-10-01"],
  ["C002", "ben@example.com", "CA", "silver", "1", "1200.50", "2026-07-15"],
  ["C010", "hana@example.com", "TX", "gold", "1", "99.99", "2026-09-09"],
  ["C012", "jo@example.com", "CA", "bronze", "1", "450.00", "2026-03-03"],
  ["C013", "kai@example.com", "CA", "silver", "1", "180.00", "2025-11-20"],
  ["C018", "pia@example.com", "CA", "gold", "1", "640.00", "2026-06-06"],
  ["C020", "rosa@example.com", "TX", "platinum", "2", "1350.25", "2026-10-30"],
];

const RECENT_BOOKERS_WATERFALL = [
  { step: "customers", remaining: 20, excluded: 0 },
  { step: "active", remaining: 18, excluded: 2 },
  { step: "has_contact_point", remaining: 16, excluded: 2 },
  { step: "consent", remaining: 13, excluded: 3 },
  { step: "not_opted_out", remaining: 12, excluded: 1 },
  { step: "not_suppressed", remaining: 10, excluded: 2 },
  { step: "campaign_filters", remaining: 7, excluded: 3 },
];

describe("audience publish", () => {
  it("recent-bookers: every rule and edge, the waterfall, and diagnostic SQL that reproduces each count", async () => {
    const stdout = new PassThrough();
    let printed = "";
    stdout.on("data", (b: Buffer) => {
      printed += b.toString();
    });
    await audienceCommand({ stdout, connect: async () => platformConnection(platform) }).parseAsync(
      ["publish", "--campaign", "recent-bookers", "--channel", "email", "--as-of", AS_OF, "--json"],
      { from: "user" },
    );
    const out = JSON.parse(printed);
    const dir = `outbox/audiences/recent-bookers/${AS_OF}`;
    expect(out).toEqual({
      audience_file: `s3://${platform.bucket}/${dir}/recent-bookers-email-${AS_OF}.csv`,
      local_path: path.join(tmp, "home", dir, `recent-bookers-email-${AS_OF}.csv`),
      reconciliation_file: `s3://${platform.bucket}/${dir}/recent-bookers-email-${AS_OF}.reconciliation.json`,
      reconciliation_local_path: path.join(tmp, "home", dir, `recent-bookers-email-${AS_OF}.reconciliation.json`),
      rows: 7,
      waterfall: RECENT_BOOKERS_WATERFALL,
    });
    expect(parseCsv(await readObject(out.audience_file))).toEqual(RECENT_BOOKERS);
    // The files a person opens: plain files under LEADPIPE_HOME, byte for byte the objects, private to the user.
    expect(readFileSync(out.local_path, "utf8")).toBe(await readObject(out.audience_file));
    expect(readFileSync(out.reconciliation_local_path, "utf8")).toBe(await readObject(out.reconciliation_file));
    expect(statSync(out.local_path).mode & 0o777).toBe(0o600);

    const reconciliation = JSON.parse(await readObject(out.reconciliation_file));
    expect(
      reconciliation.waterfall.map((s: { step: string; remaining: number; excluded: number }) => ({
        step: s.step,
        remaining: s.remaining,
        excluded: s.excluded,
      })),
    ).toEqual(RECENT_BOOKERS_WATERFALL);
    for (const step of reconciliation.waterfall as Audience.ReconciledStep[]) {
      const { rows } = await platform.pool.query(step.diagnostic_sql);
      expect(Number(rows[0].count), step.diagnostic_sql).toBe(step.remaining);
    }
    expect(reconciliation.waterfall[3].diagnostic_sql).toBe(
      "SELECT count(*) FROM audience_evaluation('recent-bookers', 'email', DATE '2026-11-20') WHERE is_active AND has_contact_point AND has_consent",
    );
    expect(await touchpoints("recent-bookers")).toEqual(
      RECENT_BOOKERS.slice(1).map(([id]) => ({ customer_id: id, channel: "email", touched_on: AS_OF })),
    );
  });

  it(
    "`leadpipe audience publish --json` in another terminal, while the platform runs, prints the mirrored file " +
      "beside the S3 URL",
    async () => {
      const cli = path.resolve(__dirname, "../../packages/local/bin/leadpipe.js");
      const args = [
        "audience",
        "publish",
        "--campaign",
        "recent-bookers",
        "--channel",
        "email",
        "--as-of",
        AS_OF,
        "--dry-run",
        "--json",
      ];
      const run = spawnSync(process.execPath, ["--single-threaded-gc", cli, ...args], {
        env: { ...process.env, LEADPIPE_HOME: path.join(tmp, "home") },
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      const key = `outbox/audiences/recent-bookers/${AS_OF}/dry-run/recent-bookers-email-${AS_OF}.csv`;
      expect(out).toMatchObject({
        audience_file: `s3://${platform.bucket}/${key}`,
        local_path: path.join(tmp, "home", key),
        rows: 7,
      });
      expect(parseCsv(readFileSync(out.local_path, "utf8"))).toEqual(RECENT_BOOKERS);
      expect(readFileSync(out.reconciliation_local_path, "utf8")).toBe(await readObject(out.reconciliation_file));
    },
  );

  it("says why each customer is out, one rule per edge", async () => {
    const { rows } = await platform.pool.query(
      `SELECT customer_id, is_active, has_contact_point, has_consent, not_opted_out, not_suppressed, matches_campaign
         FROM audience_evaluation('recent-bookers', 'email', $1) ORDER BY customer_id`,
      [AS_OF],
    );
    const why = Object.fromEntries(
      rows.map((r) => [
        r.customer_id,
        Object.entries(r)
          .filter(([k, v]) => k !== "customer_id" && v === false)
          .map(([k]) => k),
      ]),
    );
    expect(why).toEqual({
      C001: [],
      C002: [], // C002: the older snapshot was inactive, the latest is active
      C003: ["is_active"], // the latest snapshot is inactive
      C004: ["has_contact_point"],
      C005: ["has_contact_point"], // blank and whitespace e-mail
      C006: ["has_consent"], // OPT_OUT after OPT_IN
      C007: ["has_consent"], // OPT_IN and OPT_OUT at the same instant: OPT_OUT wins
      C008: ["has_consent"], // no consent event
      C009: ["not_opted_out"], // internal opt-out after the consent
      C010: [], // suppression expired yesterday
      C011: ["not_suppressed"], // suppression without expiry
      C012: [], // OPT_OUT then OPT_IN: the latest wins; suppression expiring at the start of the as-of day
      C013: [], // completed booking exactly 365 days before as-of
      C014: ["matches_campaign"], // 366 days before
      C015: ["matches_campaign"], // only cancelled bookings
      C016: ["matches_campaign"], // only a booking on the as-of day itself
      C017: ["is_active"], // two snapshots with equal updated_at: the later row (inactive) wins
      C018: [], // a later snapshot (after as-of) is inactive: not yet known on the as-of day
      C019: ["not_suppressed"], // suppression expiring the day after as-of
      C020: [],
    });
  });

  it("re-evaluates the risk of each compliance check switched off on its own (the waterfall is an upper bound)", async () => {
    const req = {
      campaign: "recent-bookers",
      channel: "email",
      asOf: AS_OF,
      steps: RECENT_BOOKERS_WATERFALL.map((s) => s.step),
    };
    // each excluded customer fails one rule only: the exact risk is the waterfall's count
    expect(await Audience.riskIfSkipped(platform.pool, req)).toEqual([
      { step: "consent", contacted_if_skipped: 3 }, // C006, C007, C008
      { step: "not_opted_out", contacted_if_skipped: 1 }, // C009
      { step: "not_suppressed", contacted_if_skipped: 2 }, // C011, C019
    ]);
    // C009 (opted out) suppressed too: skipping the opt-out check alone contacts nobody, though the
    // waterfall still says it removed one (it comes first)
    const client = await platform.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO suppressions (customer_id, reason, suppressed_at, import_id, source_row, src_seq)
         VALUES ('C009', 'test', '2026-11-01T00:00:00Z', gen_random_uuid(), 1, 1)`,
      );
      expect(await Audience.riskIfSkipped(client, req)).toEqual([
        { step: "consent", contacted_if_skipped: 3 },
        { step: "not_opted_out", contacted_if_skipped: 0 },
        { step: "not_suppressed", contacted_if_skipped: 2 },
      ]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
    await expect(Audience.riskIfSkipped(platform.pool, { ...req, steps: ["consent", "drop table"] })).rejects.toThrow(
      'unknown waterfall step "drop table"',
    );
  });

  it("publishing twice for the same campaign and day gives the same audience and does not double-count touchpoints", async () => {
    const first = await platform.pool.query(
      "SELECT audience_sha256, times_published FROM audience_publications WHERE campaign = 'recent-bookers'",
    );
    const again = await Audience.publishAudience(deps(), { campaign: "recent-bookers", channel: "email", asOf: AS_OF });
    expect(again).toMatchObject({
      rows: 7,
      touchpoints_added: 0,
      touchpoints_withdrawn: 0,
      audience_sha256: first.rows[0].audience_sha256,
    });
    expect(again.waterfall).toEqual(RECENT_BOOKERS_WATERFALL);
    expect(parseCsv(await readObject(again.audience_file))).toEqual(RECENT_BOOKERS);
    // Published by the use case itself (as the scheduled Lambda does): the platform mirrors it on the object-created event.
    await platform.mirrored();
    const local = path.join(tmp, "home", again.audience_file.replace(`s3://${platform.bucket}/`, ""));
    expect(readFileSync(local, "utf8")).toBe(await readObject(again.audience_file));
    expect((await touchpoints("recent-bookers")).length).toBe(7);
    const pub = await platform.pool.query(
      "SELECT rows, times_published FROM audience_publications WHERE campaign = 'recent-bookers'",
    );
    expect(pub.rows).toEqual([{ rows: 7, times_published: first.rows[0].times_published + 1 }]);
  });

  it("a dry run writes under dry-run/ and records nothing", async () => {
    await platform.pool.query("INSERT INTO campaigns (name, channels) VALUES ('dry-test', ARRAY['email'])");
    const p = await Audience.publishAudience(deps(), {
      campaign: "dry-test",
      channel: "email",
      asOf: AS_OF,
      dryRun: true,
    });
    expect(p.audience_file).toBe(
      `s3://${platform.bucket}/outbox/audiences/dry-test/${AS_OF}/dry-run/dry-test-email-${AS_OF}.csv`,
    );
    expect(p.rows).toBe(10);
    expect(await touchpoints("dry-test")).toEqual([]);
    expect(
      (await platform.pool.query("SELECT count(*)::int AS n FROM audience_publications WHERE campaign = 'dry-test'"))
        .rows[0].n,
    ).toBe(0);
  });

  it("call channel: no consent needed, scrubbed against call opt-outs and the do-not-call registry", async () => {
    await platform.pool.query("INSERT INTO campaigns (name, channels) VALUES ('callback', ARRAY['call'])");
    const p = await Audience.publishAudience(deps(), { campaign: "callback", channel: "call", asOf: AS_OF });
    expect(p.waterfall).toEqual([
      { step: "customers", remaining: 20, excluded: 0 },
      { step: "active", remaining: 18, excluded: 2 },
      { step: "has_contact_point", remaining: 6, excluded: 12 },
      { step: "not_opted_out", remaining: 5, excluded: 1 }, // C020's call opt-out
      { step: "not_suppressed", remaining: 4, excluded: 1 }, // C019
      { step: "not_on_dnc_registry", remaining: 2, excluded: 2 }, // C001 (512 full file), C018 (737 addition)
      { step: "campaign_filters", remaining: 2, excluded: 0 },
    ]);
    expect(parseCsv(await readObject(p.audience_file))).toEqual([
      [
        "customer_id",
        "phone",
        "home_state",
        "loyalty_tier",
        "bookings_last_365_days",
        "total_spend_last_365_days",
        "last_booking_date",
      ],
      ["C002", "5125550102", "CA", "silver", "1", "1200.50", "2026-07-15"], // its number was removed by the change file
      ["C010", "5125550103", "TX", "gold", "1", "99.99", "2026-09-09"], // its number was left out of the 512 full file
    ]);
  });

  it("frequency caps count every campaign's touches in the window, but not a re-publish of the same day", async () => {
    await platform.pool.query("INSERT INTO campaigns (name, channels) VALUES ('weekly-news', ARRAY['email'])");
    await platform.pool.query(
      "INSERT INTO campaign_frequency_caps (campaign, channel, max_touches, window_days) VALUES ('weekly-news', 'email', 1, 7)",
    );
    const first = await Audience.publishAudience(deps(), {
      campaign: "weekly-news",
      channel: "email",
      asOf: "2026-11-22",
    });
    expect(first.waterfall.slice(-2)).toEqual([
      { step: "campaign_filters", remaining: 11, excluded: 0 },
      { step: "frequency_cap", remaining: 4, excluded: 7 }, // the 7 recent-bookers e-mailed on 2026-11-20
    ]);
    const ids = parseCsv(await readObject(first.audience_file))
      .slice(1)
      .map((r: string[]) => r[0]);
    expect(ids).toEqual(["C014", "C015", "C016", "C019"]);
    const second = await Audience.publishAudience(deps(), {
      campaign: "weekly-news",
      channel: "email",
      asOf: "2026-11-22",
    });
    expect(second.rows).toBe(4);
    expect(second.touchpoints_added).toBe(0);
    expect((await touchpoints("weekly-news")).length).toBe(4);
    // On 2026-11-28 the recent-bookers touches of 2026-11-20 are out of the 7-day window; weekly-news's of 2026-11-22 are not.
    const later = await Audience.publishAudience(deps(), {
      campaign: "weekly-news",
      channel: "email",
      asOf: "2026-11-28",
      dryRun: true,
    });
    expect(later.waterfall.at(-1)).toEqual({ step: "frequency_cap", remaining: 6, excluded: 4 }); // weekly-news's own 2026-11-22 touches
  });

  it("publishing again after the data changed replaces the day's audience and withdraws the touchpoint it no longer has", async () => {
    await platform.pool.query(
      `INSERT INTO suppressions (customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq)
       VALUES ('C001', 'complaint', '2026-11-20T10:00:00Z', NULL, gen_random_uuid(), 1, 0)`,
    );
    const p = await Audience.publishAudience(deps(), { campaign: "recent-bookers", channel: "email", asOf: AS_OF });
    expect(p).toMatchObject({ rows: 6, touchpoints_added: 0, touchpoints_withdrawn: 1 });
    expect(p.waterfall.find((s) => s.step === "not_suppressed")).toEqual({
      step: "not_suppressed",
      remaining: 9,
      excluded: 3,
    });
    expect((await touchpoints("recent-bookers")).map((t) => t.customer_id)).toEqual([
      "C002",
      "C010",
      "C012",
      "C013",
      "C018",
      "C020",
    ]);
    expect(parseCsv(await readObject(p.audience_file))).toEqual([RECENT_BOOKERS[0], ...RECENT_BOOKERS.slice(2)]);
  });

  it("refuses what it cannot serve, with a reason, and writes nothing", async () => {
    await expect(Audience.publishAudience(deps(), { campaign: "nope", channel: "email", asOf: AS_OF })).rejects.toThrow(
      /unknown campaign "nope"; campaigns: .*recent-bookers/,
    );
    await expect(
      Audience.publishAudience(deps(), { campaign: "recent-bookers", channel: "call", asOf: AS_OF }),
    ).rejects.toThrow("campaign recent-bookers does not use the call channel (it uses email)");
    await expect(
      Audience.publishAudience(deps(), { campaign: "recent-bookers", channel: "fax", asOf: AS_OF }),
    ).rejects.toThrow(/unknown channel "fax"/);
    await expect(
      Audience.publishAudience(deps(), { campaign: "recent-bookers", channel: "email", asOf: "2026-02-30" }),
    ).rejects.toThrow(/as-of must be a date/);
  });
});
