/**
 * Audience rules beyond the sample day, on hand-built data: compliance per person (golden
 * records), the mail channel (the golden record's postal address), campaign priority, and the
 * do-not-call bitmap under every processing order of the registry's files. Each group uses
 * its own home state, days and campaigns, so their touchpoints do not meet.
 */
import { parse as parseCsv } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { Audience, createLogger } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { readAll } from "../../packages/core/src/imports/streams";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { usePlatform } from "../support/platform";

let platform: LocalPlatform;
let tmp: string;
const db = () => platform.pool;
const deps = () => ({
  pool: platform.pool,
  store: s3Store(platform.s3),
  settings: { bucket: platform.bucket, chunkRows: 100, maxFileBytes: 1e9 },
  log: createLogger({}, () => undefined),
});
const publish = (campaign: string, channel: string, asOf: string, dryRun = false) =>
  Audience.publishAudience(deps(), { campaign, channel, asOf, dryRun });

async function audienceRows(p: Audience.Publication): Promise<string[][]> {
  const key = p.audience_file.replace(`s3://${platform.bucket}/`, "");
  return parseCsv((await readAll(await deps().store.read(platform.bucket, key))).toString("utf8"));
}
const ids = async (p: Audience.Publication) => (await audienceRows(p)).slice(1).map((r) => r[0]);

const LINEAGE = "gen_random_uuid(), 1, 0";
async function customer(id: string, c: { email?: string; phone?: string; state: string; tier?: string }) {
  await db().query(
    `INSERT INTO customer_snapshots (customer_id, updated_at, email, phone, home_state, loyalty_tier, is_active, import_id, source_row, src_seq)
     VALUES ($1, '2026-11-01T00:00:00Z', $2, $3, $4, $5, true, ${LINEAGE})`,
    [id, c.email ?? null, c.phone ?? null, c.state, c.tier ?? "silver"],
  );
  await db().query(
    `INSERT INTO consent_events (customer_id, channel, event_ts, consent_status, import_id, source_row, src_seq)
     VALUES ($1, 'email', '2026-11-02T00:00:00Z', 'OPT_IN', ${LINEAGE})`,
    [id],
  );
}
/** A golden record with its contact points, and (for identifiers) a source record carrying them. */
async function person(
  id: number,
  p: {
    emails?: string[];
    phones?: string[];
    identifiers?: string[];
    first?: string;
    last?: string;
    address?: [string, string, string, string, string | null];
  },
) {
  const [line1, city, state, zip5, zip4] = p.address ?? [null, null, null, null, null];
  await db().query(
    `INSERT INTO persons (person_id, first_name, last_name, address_line1, city, state, zip5, zip4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [id, p.first ?? null, p.last ?? null, line1, city, state, zip5, zip4],
  );
  const {
    rows: [r],
  } = await db().query(
    `INSERT INTO person_records (source_kind, source_key, import_id, source_row, src_seq, person_id, ids)
     VALUES ('test', $1, ${LINEAGE}, $2, $3) RETURNING record_id`,
    [`person-${id}`, id, p.identifiers ?? []],
  );
  for (const e of p.emails ?? []) {
    await db().query(
      "INSERT INTO person_emails (person_id, email, verified, record_id, last_seq) VALUES ($1, $2, false, $3, 0)",
      [id, e, r.record_id],
    );
  }
  for (const ph of p.phones ?? []) {
    await db().query(
      "INSERT INTO person_phones (person_id, phone, verified, record_id, last_seq) VALUES ($1, $2, false, $3, 0)",
      [id, ph, r.record_id],
    );
  }
}
async function optOut(channel: string, value: string, at: string) {
  await db().query(
    "INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin) VALUES ($1, $2, $3, 'test', 'internal')",
    [channel, value, at],
  );
}
async function evaluation(campaign: string, channel: string, asOf: string, state: string, column: string) {
  const { rows } = await db().query(
    `SELECT customer_id, ${column} AS v FROM audience_evaluation($1, $2, $3) WHERE home_state = $4 ORDER BY customer_id`,
    [campaign, channel, asOf, state],
  );
  return Object.fromEntries(rows.map((r) => [r.customer_id, r.v]));
}
async function diagnosticsHold(p: Audience.Publication) {
  const key = p.reconciliation_file.replace(`s3://${platform.bucket}/`, "");
  const rec = JSON.parse((await readAll(await deps().store.read(platform.bucket, key))).toString("utf8"));
  for (const step of rec.waterfall as Audience.ReconciledStep[]) {
    const { rows } = await db().query(step.diagnostic_sql);
    expect(Number(rows[0].count), step.diagnostic_sql).toBe(step.remaining);
  }
  return rec;
}

usePlatform("leadpipe-audiences-people-", { chunkRows: 100, workers: 1 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

beforeAll(async () => {
  // TX: compliance per person (e-mail).
  await customer("T01", { email: "t01@example.com", phone: "+15125550301", state: "TX" });
  await customer("T02", { email: "t02@example.com", phone: "+15125550302", state: "TX" });
  await customer("T03", { email: "t03@example.com", state: "TX" });
  await customer("T04", { email: "t04@example.com", phone: "+15125550304", state: "TX" });
  await customer("T05", { email: "shared@example.com", state: "TX" });
  await customer("T06", { email: "t06@example.com", phone: "+15125550306", state: "TX" });
  await customer("T07", { email: "t07@example.com", state: "TX" });
  await person(9001, {
    identifiers: ["customer id=T01", "customer_id=T02"],
    emails: ["gold9001@example.com"],
    phones: ["+15125550391"],
  });
  await person(9002, { emails: ["t03@example.com"] });
  await person(9003, { emails: ["shared@example.com"] });
  await person(9004, { emails: ["shared@example.com"] });
  await person(9005, { emails: ["t06@example.com"] });
  await person(9006, { phones: ["+15125550306"] });
  await db().query(
    "INSERT INTO campaigns (name, channels, home_states) VALUES ('tx-news', ARRAY['email', 'call'], ARRAY['TX'])",
  );

  // OR: the mail channel.
  await customer("M01", { state: "OR" });
  await customer("M02", { email: "m02@example.com", state: "OR" });
  await customer("M03", { email: "m03@example.com", state: "OR" });
  await customer("M04", { state: "OR" });
  await customer("M05", { state: "OR" });
  await person(9101, {
    identifiers: ["customer id=M01", "customer id=M05"],
    first: "Ana",
    last: "Lopez",
    address: ["12 MAIN ST APT 4", "PORTLAND", "OR", "97201", "1234"],
  });
  await person(9102, { emails: ["m02@example.com"], first: "Ben", last: "Ito" });
  await person(9103, {
    identifiers: ["customer number=M04"],
    emails: ["gold9103@example.com"],
    first: "Cy",
    last: "Moe",
    address: ["7 OAK AVE", "SALEM", "OR", "97301", null],
  });
  await db().query(
    "INSERT INTO campaigns (name, channels, home_states) VALUES ('or-mail', ARRAY['mail'], ARRAY['OR'])",
  );

  // WA: priority.
  await customer("W01", { email: "w01@example.com", state: "WA", tier: "gold" });
  await customer("W02", { email: "w02@example.com", state: "WA" });
  await customer("W03", { email: "w03@example.com", state: "WA", tier: "gold" });
  await customer("W04", { email: "w04@example.com", state: "WA" });
  await customer("W05", { email: "w05@example.com", state: "WA" });
  await person(9201, { identifiers: ["customer id=W03", "customer id=W04"] });
  await db().query(`INSERT INTO campaigns (name, channels, home_states, loyalty_tiers, priority) VALUES
    ('wa-high', ARRAY['email'], ARRAY['WA'], ARRAY['GOLD'], 1),
    ('wa-low',  ARRAY['email'], ARRAY['WA'], NULL, 5),
    ('wa-peer', ARRAY['email'], ARRAY['WA'], NULL, 5)`);
});

describe("compliance per person (golden records)", () => {
  it("links a customer by its customer id as an identifier, else by a contact point held by exactly one golden record", async () => {
    const { rows } = await db().query(
      `SELECT customer_id, person_id::int, linked_by FROM audience_evaluation('tx-news', 'email', '2026-12-01') WHERE home_state = 'TX' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { customer_id: "T01", person_id: 9001, linked_by: "customer id" }, // identifier "customer id"
      { customer_id: "T02", person_id: 9001, linked_by: "customer id" }, // identifier spelled "customer_id"
      { customer_id: "T03", person_id: 9002, linked_by: "contact point" }, // its e-mail is 9002's
      { customer_id: "T04", person_id: null, linked_by: null }, // no golden record
      { customer_id: "T05", person_id: null, linked_by: null }, // its e-mail belongs to two golden records
      { customer_id: "T06", person_id: null, linked_by: null }, // e-mail and phone point to different golden records
      { customer_id: "T07", person_id: null, linked_by: null },
    ]);
  });

  it("one customer id per person in an audience; touchpoints carry the golden record", async () => {
    const p = await publish("tx-news", "email", "2026-12-01");
    expect(p.waterfall.slice(-3)).toEqual([
      { step: "campaign_filters", remaining: 7, excluded: 7 }, // the other states' customers with an e-mail
      { step: "priority", remaining: 7, excluded: 0 }, // wa-high (priority 1) uses e-mail too; nothing claimed on this day
      { step: "one_per_person", remaining: 6, excluded: 1 }, // T02: T01 is the same person and comes first
    ]);
    expect(await ids(p)).toEqual(["T01", "T03", "T04", "T05", "T06", "T07"]);
    await diagnosticsHold(p);
    const { rows } = await db().query(
      "SELECT customer_id, person_id::int FROM touchpoints WHERE campaign = 'tx-news' ORDER BY 1",
    );
    expect(rows).toEqual([
      { customer_id: "T01", person_id: 9001 },
      { customer_id: "T03", person_id: 9002 },
      { customer_id: "T04", person_id: null },
      { customer_id: "T05", person_id: null },
      { customer_id: "T06", person_id: null },
      { customer_id: "T07", person_id: null },
    ]);
    // On the call channel T01's own number is on the registry (a rule of the number, not the person): T02 is the person's customer id.
    await db().query(
      "INSERT INTO dnc_numbers (phone, listed, import_id, src_seq) VALUES (5125550301, true, gen_random_uuid(), 1)",
    );
    expect(await evaluation("tx-news", "call", "2026-12-01", "TX", "not_on_dnc_registry")).toMatchObject({
      T01: false,
      T02: true,
    });
    expect(await evaluation("tx-news", "call", "2026-12-01", "TX", "first_of_person")).toMatchObject({
      T01: true,
      T02: true,
    });
    expect(await ids(await publish("tx-news", "call", "2026-12-01", true))).toEqual(["T02", "T04", "T06"]); // T03, T05, T07: no phone
  });

  it("an opt-out of any of the person's e-mails or phones excludes every customer id of the person, on that channel only", async () => {
    await optOut("email", "gold9001@example.com", "2026-12-02T09:00:00Z"); // the golden record's own e-mail
    await optOut("call", "+15125550391", "2026-12-02T09:00:00Z"); // the golden record's phone, not T01's
    await optOut("email", "t04@example.com", "2026-12-02T09:00:00Z"); // an unlinked customer: only itself
    expect(await evaluation("tx-news", "email", "2026-12-02", "TX", "not_opted_out")).toEqual({
      T01: false,
      T02: false,
      T03: true,
      T04: false,
      T05: true,
      T06: true,
      T07: true,
    });
    expect(await evaluation("tx-news", "email", "2026-12-01", "TX", "not_opted_out")) // the day before: not yet
      .toEqual({ T01: true, T02: true, T03: true, T04: true, T05: true, T06: true, T07: true });
    expect(await evaluation("tx-news", "call", "2026-12-02", "TX", "not_opted_out")).toEqual({
      T01: false,
      T02: false,
      T03: true,
      T04: true,
      T05: true,
      T06: true,
      T07: true,
    });
    expect(await evaluation("tx-news", "sms", "2026-12-02", "TX", "not_opted_out")) // another channel
      .toEqual({ T01: true, T02: true, T03: true, T04: true, T05: true, T06: true, T07: true });
  });

  it("an OPT_OUT consent or a suppression of one customer id applies to the person", async () => {
    await db().query(`INSERT INTO consent_events (customer_id, channel, event_ts, consent_status, import_id, source_row, src_seq)
                      VALUES ('T02', 'email', '2026-12-03T08:00:00Z', 'OPT_OUT', ${LINEAGE}), ('T07', 'email', '2026-12-03T08:00:00Z', 'OPT_OUT', ${LINEAGE})`);
    expect(await evaluation("tx-news", "email", "2026-12-03", "TX", "has_consent")).toEqual({
      T01: false,
      T02: false,
      T03: true,
      T04: true,
      T05: true,
      T06: true,
      T07: false,
    });
    expect(await evaluation("tx-news", "call", "2026-12-03", "TX", "has_consent")) // calls need no consent
      .toMatchObject({ T01: true, T02: true });
    await db().query(`INSERT INTO suppressions (customer_id, reason, suppressed_at, expires_at, import_id, source_row, src_seq)
                      VALUES ('T02', 'complaint', '2026-12-04T00:00:00Z', '2026-12-05T00:00:00Z', ${LINEAGE})`);
    expect(await evaluation("tx-news", "email", "2026-12-04", "TX", "not_suppressed")).toEqual({
      T01: false,
      T02: false,
      T03: true,
      T04: true,
      T05: true,
      T06: true,
      T07: true,
    });
    expect(await evaluation("tx-news", "email", "2026-12-05", "TX", "not_suppressed")) // expired
      .toMatchObject({ T01: true, T02: true });
  });

  it("frequency caps count every touch of the person, whichever customer id it reached", async () => {
    await db().query(
      "INSERT INTO campaigns (name, channels, home_states) VALUES ('tx-capped', ARRAY['email'], ARRAY['TX'])",
    );
    await db().query("INSERT INTO campaign_frequency_caps VALUES ('tx-capped', 'email', 1, 7)");
    await db().query(`INSERT INTO touchpoints (campaign, channel, customer_id, touched_on) VALUES
      ('outside', 'email', 'T02', '2026-12-18'), ('outside', 'email', 'T04', '2026-12-18'), ('outside', 'sms', 'T03', '2026-12-18')`);
    expect(await evaluation("tx-capped", "email", "2026-12-20", "TX", "under_frequency_cap")).toEqual({
      T01: false,
      T02: false,
      T03: true,
      T04: false,
      T05: true,
      T06: true,
      T07: true,
    });
  });
});

describe("mail: the golden record's postal address", () => {
  it("publishes linked customers at their golden address; without one they stay out at has_contact_point, with the reason", async () => {
    await optOut("mail", "gold9103@example.com", "2026-11-15T00:00:00Z"); // M04's person's e-mail, opted out of mail
    const p = await publish("or-mail", "mail", "2026-12-01");
    expect(await audienceRows(p)).toEqual([
      [
        "customer_id",
        "person_id",
        "first_name",
        "last_name",
        "address_line1",
        "city",
        "state",
        "zip5",
        "zip4",
        "home_state",
        "loyalty_tier",
        "bookings_last_365_days",
        "total_spend_last_365_days",
        "last_booking_date",
      ],
      [
        "M01",
        "9101",
        "Ana",
        "Lopez",
        "12 MAIN ST APT 4",
        "PORTLAND",
        "OR",
        "97201",
        "1234",
        "OR",
        "silver",
        "0",
        "0",
        "",
      ],
    ]);
    const why = await db().query(
      `SELECT customer_id, has_contact_point, not_opted_out, first_of_person FROM audience_evaluation('or-mail', 'mail', '2026-12-01')
        WHERE home_state = 'OR' ORDER BY 1`,
    );
    expect(why.rows).toEqual([
      { customer_id: "M01", has_contact_point: true, not_opted_out: true, first_of_person: true },
      { customer_id: "M02", has_contact_point: false, not_opted_out: true, first_of_person: true }, // golden record without an address
      { customer_id: "M03", has_contact_point: false, not_opted_out: true, first_of_person: true }, // no golden record
      { customer_id: "M04", has_contact_point: true, not_opted_out: false, first_of_person: true }, // its person opted out of mail
      { customer_id: "M05", has_contact_point: true, not_opted_out: true, first_of_person: false }, // same person as M01
    ]);
    // Every customer known (the other states' too) is counted; only linked ones with an address have a mail contact point.
    expect(p.waterfall).toEqual([
      { step: "customers", remaining: 17, excluded: 0 },
      { step: "active", remaining: 17, excluded: 0 },
      { step: "has_contact_point", remaining: 3, excluded: 14 },
      { step: "not_opted_out", remaining: 2, excluded: 1 },
      { step: "not_suppressed", remaining: 2, excluded: 0 },
      { step: "campaign_filters", remaining: 2, excluded: 0 },
      { step: "one_per_person", remaining: 1, excluded: 1 },
    ]);
    const rec = await diagnosticsHold(p);
    expect(rec.waterfall[2].rule).toMatch(/linked to a golden record .* standardized postal address/);
    const { rows } = await db().query("SELECT customer_id, person_id::int FROM touchpoints WHERE campaign = 'or-mail'");
    expect(rows).toEqual([{ customer_id: "M01", person_id: 9101 }]);
  });
});

describe("campaign priority", () => {
  const D = "2026-12-05";
  it("a lower-priority campaign leaves out the people in a higher-priority audience of the same channel and day", async () => {
    const high = await publish("wa-high", "email", D);
    expect(await ids(high)).toEqual(["W01", "W03"]);
    expect(high.waterfall.map((s) => s.step)).not.toContain("priority"); // nothing ranks above priority 1

    const low = await publish("wa-low", "email", D);
    expect(low.waterfall.slice(-2)).toEqual([
      { step: "priority", remaining: 2, excluded: 3 }, // W01, W03 and W04 (W03's person)
      { step: "one_per_person", remaining: 2, excluded: 0 },
    ]);
    expect(await ids(low)).toEqual(["W02", "W05"]);
    const rec = await diagnosticsHold(low);
    expect(rec.waterfall.at(-2).diagnostic_sql).toBe(
      "SELECT count(*) FROM audience_evaluation('wa-low', 'email', DATE '2026-12-05') " +
        "WHERE is_active AND has_contact_point AND has_consent AND not_opted_out AND not_suppressed AND matches_campaign AND not_in_higher_priority_audience",
    );
    expect(rec.priority).toBe(5);
    expect(low.priority_conflicts).toEqual([]);

    // Equal priority does not compete: wa-peer is left with what wa-high leaves, wa-low's audience does not matter.
    expect(await ids(await publish("wa-peer", "email", D))).toEqual(["W02", "W05"]);
  });

  it("only the same channel and the same day, and only published audiences, claim people", async () => {
    expect(await evaluation("wa-low", "email", "2026-12-06", "WA", "not_in_higher_priority_audience")).toEqual({
      W01: true,
      W02: true,
      W03: true,
      W04: true,
      W05: true,
    });
    expect(await evaluation("wa-low", "sms", D, "WA", "not_in_higher_priority_audience")).toEqual({
      W01: true,
      W02: true,
      W03: true,
      W04: true,
      W05: true,
    });
    await publish("wa-high", "email", "2026-12-07", true); // a dry run records no touchpoints
    expect(await evaluation("wa-low", "email", "2026-12-07", "WA", "not_in_higher_priority_audience")).toEqual({
      W01: true,
      W02: true,
      W03: true,
      W04: true,
      W05: true,
    });
  });

  it("published out of order: the higher-priority audience keeps its people and names the campaign to publish again", async () => {
    const D2 = "2026-12-08";
    const lowFirst = await publish("wa-low", "email", D2);
    expect(await ids(lowFirst)).toEqual(["W01", "W02", "W03", "W05"]); // W04: W03 is the same person
    const high = await publish("wa-high", "email", D2);
    expect(await ids(high)).toEqual(["W01", "W03"]);
    expect(high.priority_conflicts).toEqual([{ campaign: "wa-low", priority: 5, touchpoints: 2 }]);
    const again = await publish("wa-low", "email", D2);
    expect(again).toMatchObject({ touchpoints_added: 0, touchpoints_withdrawn: 2, priority_conflicts: [] });
    expect(await ids(again)).toEqual(["W02", "W05"]);
    expect((await publish("wa-high", "email", D2)).priority_conflicts).toEqual([]);
  });

  it("a priority outside 1..1000 is refused by the table", async () => {
    await expect(db().query("UPDATE campaigns SET priority = 0 WHERE name = 'wa-low'")).rejects.toThrow(
      /campaigns_priority_check/,
    );
  });
});

describe("do-not-call bitmap", () => {
  // Four registry files landing in this order (area code 404): additions {a, e}, a full file
  // {a, b, c}, removals {b}, additions {f}. In landing order the registry ends with a, c, f listed
  // (the full file delists e; the removal delists b). Every processing order must end the same,
  // in dnc_numbers and in the bitmap the rules read.
  const [a, b, c, e, f] = [4045550001n, 4045550002n, 4045550003n, 4045550005n, 4045558193n] as const;
  const files: [string, bigint[], string][] = [
    ["add", [a, e], "dnc-additions"],
    ["full", [a, b, c], "dnc-full"],
    ["remove", [b], "dnc-removals"],
    ["add", [f], "dnc-additions"],
  ];
  const permutations = (n: number): number[][] =>
    n === 1
      ? [[0]]
      : permutations(n - 1).flatMap((p) =>
          Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
        );

  it("every processing order of the files ends with the same numbers listed and the same bitmap", async () => {
    const results = new Set<string>();
    for (const order of permutations(files.length)) {
      const client = await db().connect();
      try {
        await client.query("BEGIN");
        const importIds: string[] = [];
        for (const [action, phones, source] of files) {
          const {
            rows: [imp],
          } = await client.query(
            `INSERT INTO imports (bucket, object_key, event_key, file_name, source) VALUES ('b', $1, $1, $1, $2) RETURNING id, seq`,
            [`${source}-${importIds.length}-${order.join("")}.txt`, source],
          );
          importIds.push(imp.id);
          await client.query(
            `INSERT INTO staging_dnc_numbers (import_id, chunk_index, source_row, src_seq, partner, phone, action)
             SELECT $1, 0, r, ($2::bigint << 32) + r, '', phone, $3 FROM unnest($4::bigint[]) WITH ORDINALITY AS x(phone, r)`,
            [imp.id, imp.seq, action, phones.map(String)],
          );
        }
        for (const k of order) {
          await client.query("SELECT * FROM promote_dnc_numbers($1, 0)", [importIds[k]]);
          if (files[k]![0] === "full") await client.query("SELECT complete_dnc_full_file($1)", [importIds[k]]);
        }
        const listed = await client.query(
          "SELECT phone::text FROM dnc_numbers WHERE phone / 10000000 = 404 AND listed ORDER BY phone",
        );
        const bitmap = await client.query(
          "SELECT block, bits::text FROM dnc_bitmap WHERE block BETWEEN $1 AND $2 ORDER BY block",
          [(Number(a) / 8192) | 0, (Number(f) / 8192) | 0],
        );
        const differences = await client.query("SELECT count(*)::int AS n FROM dnc_bitmap_differences()");
        const lookups = await client.query(
          "SELECT array_agg(dnc_listed(p) ORDER BY p) AS l FROM unnest($1::bigint[]) p",
          [[a, b, c, e, f].map(String)],
        );
        expect(
          listed.rows.map((r) => r.phone),
          `order ${order}`,
        ).toEqual([a, c, f].map(String));
        expect(differences.rows[0].n, `order ${order}`).toBe(0);
        expect(lookups.rows[0].l, `order ${order}`).toEqual([true, false, true, false, true]);
        results.add(JSON.stringify(bitmap.rows));
      } finally {
        await client.query("ROLLBACK");
        client.release();
      }
    }
    expect(results.size).toBe(1);
    const [rows] = [...results].map((r) => JSON.parse(r) as { block: number; bits: string }[]);
    // a, c (block 493,841) and f (the next block): bits at their offsets, nothing else
    expect(rows!.map((r) => [r.block, [...r.bits].flatMap((bit, i) => (bit === "1" ? [i] : []))])).toEqual([
      [Number(a / 8192n), [Number(a % 8192n), Number(c % 8192n)]],
      [Number(f / 8192n), [Number(f % 8192n)]],
    ]);
  });

  it("a number delisted by every path leaves no block behind; the bitmap is rebuilt identical from dnc_numbers", async () => {
    await db().query(
      `INSERT INTO dnc_numbers (phone, listed, import_id, src_seq) VALUES (6175550100, true, gen_random_uuid(), 1), (6175550101, true, gen_random_uuid(), 1)`,
    );
    expect((await db().query("SELECT dnc_listed(6175550100) AS l")).rows[0].l).toBe(true);
    await db().query("UPDATE dnc_numbers SET listed = false WHERE phone = 6175550100");
    await db().query("DELETE FROM dnc_numbers WHERE phone = 6175550101");
    const { rows } = await db().query("SELECT count(*)::int AS n FROM dnc_bitmap WHERE block = 6175550100 / 8192");
    expect(rows[0].n).toBe(0);
    const before = (await db().query("SELECT block, bits::text FROM dnc_bitmap ORDER BY block")).rows;
    await db().query("SELECT dnc_bitmap_rebuild()");
    expect((await db().query("SELECT block, bits::text FROM dnc_bitmap ORDER BY block")).rows).toEqual(before);
    expect((await db().query("SELECT count(*)::int AS n FROM dnc_bitmap_differences()")).rows[0].n).toBe(0);
  });
});
