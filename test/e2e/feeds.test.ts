import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { trackingCodeFor } from "../../packages/local/src/generate/random";
import { writePartnerB } from "../../packages/local/src/generate/partner-b";
import { writeCallResponses, writeDeliveries } from "../../packages/local/src/generate/feeds";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { mortgageMatchKey } from "../../packages/core/src/sources/mortgage-row";
import { s3Store } from "../../packages/core/src/adapters/s3";
import { readAll } from "../../packages/core/src/imports/streams";
import type { Leads } from "@leadpipe/core";
import { leadsCommand } from "../../packages/local/src/commands/leads";
import { platformConnection } from "../../packages/local/src/commands/connect";
import { usePlatform } from "../support/platform";

const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
let platform: LocalPlatform;
let tmp: string;

async function ingest(file: string) {
  const d = await platform.drop(file);
  const [row] = await platform.waitFor([d]);
  return row!;
}

/** Writes a file into the test's folder and returns its path. */
function file(name: string, lines: string[]): string {
  const f = path.join(tmp, name);
  writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

async function rejects(importId: string) {
  const { rows } = await platform.pool.query(
    "SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects WHERE import_id = $1 ORDER BY row_number, field_name",
    [importId],
  );
  return rows;
}

usePlatform("leadpipe-feeds-", { chunkRows: 3 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

const t = trackingCodeFor;

/** Mail pieces as the mail-piece path lands them (tracking code of the mortgage, partner, mortgage id). */
async function addPieces(mortgageIds: string[]) {
  await platform.pool.query(
    `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, match_key, import_id, source_row, src_seq)
     SELECT code, left(id, 1), id, mortgage_match_key(id), gen_random_uuid(), 0, 0 FROM unnest($1::text[], $2::text[]) AS u(code, id)`,
    [mortgageIds.map((id) => t(id)), mortgageIds],
  );
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

async function deliveriesOf(mortgageIds: string[]) {
  const { rows } = await platform.pool.query(
    "SELECT tracking_code, partner, delivered_at, event_code FROM mail_piece_deliveries WHERE tracking_code = ANY($1) ORDER BY tracking_code",
    [mortgageIds.map((id) => t(id))],
  );
  return rows.map((r) => ({ ...r, delivered_at: iso(r.delivered_at) }));
}

const bDeliveries = (name: string, rows: [string, string, string, string][]) =>
  file(name, [
    "Tracking Number,Scan Date,Scan Time,Status",
    ...rows.map(([id, d, tm, s]) => `${t(id)},${d},${tm},${s}`),
  ]);

describe("delivery confirmations", () => {
  it("keep the first delivery per piece: an earlier event arriving later replaces, a later one does not, equal times go to the lowest code", async () => {
    const ids = ["B-200001", "B-200002", "B-200003", "B-200004"];
    await addPieces(ids);
    const first = await ingest(
      bDeliveries("partner-b-deliveries-first.csv", [
        ["B-200001", "11/21/2026", "10:00 AM", "Delivered"],
        ["B-200002", "11/21/2026", "9:00 AM", "Delivered"],
        ["B-200003", "11/21/2026", "9:00 AM", "Delivered - Mailbox"],
        ["B-200004", "11/21/2026", "9:00 AM", "Delivered"],
      ]),
    );
    expect(first).toMatchObject({
      status: "COMPLETE",
      rows_read: 4,
      accepted: 4,
      rejected: 0,
      inserted: 4,
      updated: 0,
      unchanged: 0,
    });
    const second = await ingest(
      bDeliveries("partner-b-deliveries-second.csv", [
        ["B-200001", "11/20/2026", "4:00 PM", "Delivered"],
        ["B-200002", "11/22/2026", "8:00 AM", "Delivered"],
        ["B-200003", "11/21/2026", "9:00 AM", "Delivered"],
        ["B-200004", "11/21/2026", "09:00", "Delivered - Mailbox"],
      ]),
    );
    expect(second).toMatchObject({ status: "COMPLETE", rows_read: 4, accepted: 4, inserted: 4, unchanged: 0 });
    expect(await deliveriesOf(ids)).toEqual([
      { tracking_code: t("B-200001"), partner: "B", delivered_at: "2026-11-20T21:00:00.000Z", event_code: "DELIVERED" },
      { tracking_code: t("B-200002"), partner: "B", delivered_at: "2026-11-21T14:00:00.000Z", event_code: "DELIVERED" },
      { tracking_code: t("B-200003"), partner: "B", delivered_at: "2026-11-21T14:00:00.000Z", event_code: "DELIVERED" },
      { tracking_code: t("B-200004"), partner: "B", delivered_at: "2026-11-21T14:00:00.000Z", event_code: "DELIVERED" },
    ]);
    const ledger = await platform.pool.query(
      "SELECT status, count(*)::int AS n FROM delivery_events WHERE tracking_code = ANY($1) GROUP BY status",
      [ids.map((id) => t(id))],
    );
    expect(ledger.rows).toEqual([{ status: "applied", n: 8 }]);
  });

  it("rejects an event in partner C's feed for partner B's piece with a reason, and changes nothing", async () => {
    await addPieces(["B-210001", "C-210001"]);
    const snapshot = async () =>
      (
        await platform.pool.query(
          `SELECT p.tracking_code, p.partner, p.mortgage_id, p.updated_at, d.delivered_at, d.event_code
         FROM mail_pieces p LEFT JOIN mail_piece_deliveries d USING (tracking_code) WHERE p.tracking_code = ANY($1) ORDER BY 1`,
          [[t("B-210001"), t("C-210001")]],
        )
      ).rows;
    const before = await snapshot();
    const row = await ingest(
      file("partner-c-deliveries-cross.csv", [
        "Barcode;Delivered;Event",
        `${t("B-210001")};20.11.2026 09:00;919`,
        `${t("C-210001")};20.11.2026 09:30;919`,
      ]),
    );
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 2,
      accepted: 1,
      rejected: 1,
      inserted: 1,
      unchanged: 0,
    });
    const reason = `mail piece ${t("B-210001")} belongs to partner B: partner C's delivery feed can confirm only its own pieces`;
    expect(await rejects(row.id)).toEqual([
      {
        row_number: 2,
        error_type: "rule",
        field_name: "tracking_code",
        field_value: t("B-210001"),
        error_message: reason,
      },
    ]);
    const after = await snapshot();
    expect(after[0]).toEqual(before[0]);
    expect(after[0].delivered_at).toBeNull();
    expect(after[1]).toMatchObject({
      tracking_code: t("C-210001"),
      delivered_at: new Date("2026-11-20T15:30:00Z"),
      event_code: "919",
    });
    const ledger = await platform.pool.query(
      "SELECT partner, status, reason FROM delivery_events WHERE tracking_code = $1",
      [t("B-210001")],
    );
    expect(ledger.rows).toEqual([{ partner: "C", status: "rejected", reason }]);
  });

  it("re-sending a file changes nothing; an overlapping file adds only what is new", async () => {
    const ids = ["B-200001", "B-200002", "B-200003", "B-200004"];
    const before = await deliveriesOf(ids);
    const again = await ingest(path.join(tmp, "partner-b-deliveries-second.csv"));
    expect(again.status).toBe("DUPLICATE");
    const overlap = await ingest(
      bDeliveries("partner-b-deliveries-overlap.csv", [
        ["B-200001", "11/20/2026", "4:00 PM", "Delivered"],
        ["B-200002", "11/22/2026", "8:00 AM", "DELIVERED"],
        ["B-200002", "11/22/2026", "8:00 AM", "DELIVERED"],
        ["B-200003", "11/23/2026", "8:00 AM", "Delivered"],
      ]),
    );
    expect(overlap).toMatchObject({ status: "COMPLETE", rows_read: 4, accepted: 4, inserted: 1, unchanged: 3 });
    expect(await deliveriesOf(ids)).toEqual(before);
  });
});

/** A partner-B mortgage file (the real mortgage path) with these ids, borrower first names and phones. */
function bMortgages(name: string, rows: [string, string, string][]) {
  return file(name, [
    Object.keys(partnerBMortgages.columns).join(","),
    ...rows.map(
      ([id, first, phone]) =>
        `${id},"${first.replaceAll('"', '""')}",Rivera,,,12 Oak St,Austin,TX,78745,,,,,"$250,000.00",Harbor Mortgage,CONV,6.1,11/14/2026,01/01/2027,${phone},`,
    ),
  ]);
}

const ivr = (name: string, rows: string[]) =>
  file(name, ["Caller Phone,Call Start,Disposition,Loan Number Entered,Tracking Number Entered", ...rows]);

/** Business content of every feed table for these pieces and callers (no ids, lineage or timestamps of our own). */
async function feedState(codes: string[], phones: string[]) {
  const q = async (sql: string, params: unknown[]) => (await platform.pool.query(sql, params)).rows;
  return {
    events: await q(
      `SELECT partner, tracking_code, event_at, event_code, status, reason FROM delivery_events
                      WHERE tracking_code = ANY($1) ORDER BY tracking_code, partner, event_at, event_code`,
      [codes],
    ),
    deliveries: await q(
      `SELECT tracking_code, partner, delivered_at, event_code FROM mail_piece_deliveries
                          WHERE tracking_code = ANY($1) ORDER BY tracking_code`,
      [codes],
    ),
    responses: await q(
      `SELECT caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking, tracking_code, mortgage_id, partner, match_method
                          FROM call_responses WHERE caller_phone = ANY($1) ORDER BY caller_phone, called_at, disposition`,
      [phones],
    ),
    leads: await q(
      `SELECT caller_phone, tracking_code, mortgage_id, partner, interested_at FROM leads
                     WHERE caller_phone = ANY($1) ORDER BY caller_phone, tracking_code`,
      [phones],
    ),
    optOuts: await q(
      `SELECT channel, value, opted_out_at, reason, origin FROM opt_outs WHERE value = ANY($1) ORDER BY 1, 2, 3`,
      [phones],
    ),
  };
}

describe("mortgage match keys", () => {
  it("are the same whether computed on the way in (stored) or by the schema's mortgage_match_key()", async () => {
    const ids = [
      "B-100004",
      "b 100004",
      "b-100004.",
      "C_2026_000123",
      "d100",
      "--",
      " ",
      "x".repeat(40) + "-",
      "x".repeat(41),
      "A1/B2#C3",
    ];
    const { rows } = await platform.pool.query<{ id: string; key: string | null }>(
      "SELECT id, mortgage_match_key(id) AS key FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n",
      [ids],
    );
    const sqlKeys = rows.map((r) => (r.key !== null && r.key.length > 40 ? null : r.key));
    expect(ids.map(mortgageMatchKey)).toEqual(sqlKeys);
    expect(ids.map(mortgageMatchKey).slice(0, 6)).toEqual([
      "B100004",
      "B100004",
      "B100004",
      "C2026000123",
      "D100",
      null,
    ]);
  });
});

describe("order independence", () => {
  const ids = ["B-220001", "B-220002", "C-220001"];
  const codes = ids.map((id) => t(id));
  const phones = ["+15125550301", "+15125550302", "+15125550303", "+15125550304", "+15125550305"];
  const files = () => ({
    mortgages: bMortgages("partner-b-mortgages-order.csv", [
      ["B-220001", "Ana", "512-555-0301"],
      ["B-220002", "Luis", "512-555-0302"],
    ]),
    // Partner B's barcode map: with the mortgages, it makes the mail pieces (the mail-piece path).
    barcodes: file("partner-b-barcodes-order.csv", [
      "Loan Number,IMb,Barcode ID,Service Type ID,Mailer ID,Serial Number,Routing Code",
      `B-220001,${t("B-220001")} 78745,,,,,`,
      `B-220002,${t("B-220002")},,,,,`,
    ]),
    bDeliveries: bDeliveries("partner-b-deliveries-order.csv", [
      ["B-220001", "11/21/2026", "10:00 AM", "Delivered"],
      ["B-220001", "11/20/2026", "3:00 PM", "Delivered"],
      ["B-220002", "11/21/2026", "11:00 AM", "Delivered"],
    ]),
    cDeliveries: file("partner-c-deliveries-order.csv", [
      "Barcode;Delivered;Event",
      `${t("C-220001")};20.11.2026 09:00;919`,
      `${t("B-220002")};19.11.2026 09:00;919`,
    ]),
    responses: ivr("call-center-responses-order.csv", [
      `512-555-0301,11/22/2026 9:00 AM,Interested,,${t("B-220001")}`,
      `512-555-0301,11/23/2026 9:00 AM,interested,B-220001,`,
      `512-555-0302,11/22/2026 9:30 AM,Interested,B-220002,${t("B-220002").slice(0, 19)}`,
      `512-555-0303,11/22/2026 10:00 AM,Interested,Z-1,00270999999999999999`,
      `512-555-0304,11/22/2026 10:30 AM,DNC,,`,
      `512-555-0305,11/22/2026 10:45 AM,Call back,b 220001,`,
    ]),
  });

  async function forget(importIds: string[]) {
    const db = platform.pool;
    await db.query("DELETE FROM leads WHERE caller_phone = ANY($1)", [phones]);
    await db.query("DELETE FROM call_responses WHERE caller_phone = ANY($1)", [phones]);
    await db.query("DELETE FROM opt_outs WHERE value = ANY($1)", [phones]);
    await db.query("DELETE FROM mail_piece_deliveries WHERE tracking_code = ANY($1)", [codes]);
    await db.query("DELETE FROM delivery_events WHERE tracking_code = ANY($1)", [codes]);
    await db.query("DELETE FROM mail_pieces WHERE tracking_code = ANY($1)", [codes]);
    await db.query("DELETE FROM barcode_assignments WHERE tracking_code = ANY($1)", [codes]);
    await db.query("DELETE FROM mortgages WHERE mortgage_id = ANY($1)", [ids]);
    await db.query("DELETE FROM imports WHERE id = ANY($1)", [importIds]);
  }

  it("feeds before their pieces and mortgages end in the same tables as pieces first; waiting rows are reported meanwhile", async () => {
    const f = files();
    // Pieces and mortgages first: partner B's through its mortgage file and barcode map, C's landed directly.
    const first = [await ingest(f.mortgages), await ingest(f.barcodes)];
    await addPieces(["C-220001"]);
    expect(
      (await platform.pool.query("SELECT count(*)::int AS n FROM mail_pieces WHERE tracking_code = ANY($1)", [codes]))
        .rows[0].n,
    ).toBe(3);
    for (const x of [f.bDeliveries, f.cDeliveries, f.responses]) first.push(await ingest(x));
    const piecesFirst = await feedState(codes, phones);
    await forget(first.map((r) => r.id));

    // The feeds first: everything waits, nothing is lost, the backlog says so.
    const second = [];
    for (const x of [f.responses, f.cDeliveries, f.bDeliveries]) second.push(await ingest(x));
    const pending = await platform.pool.query(
      "SELECT partner, tracking_code FROM deliveries_pending WHERE tracking_code = ANY($1) ORDER BY 2, 1",
      [codes],
    );
    expect(pending.rows).toEqual(
      [
        { partner: "B", tracking_code: t("B-220001") },
        { partner: "B", tracking_code: t("B-220001") },
        { partner: "B", tracking_code: t("B-220002") },
        { partner: "C", tracking_code: t("B-220002") },
        { partner: "C", tracking_code: t("C-220001") },
      ].sort((a, b) => a.tracking_code.localeCompare(b.tracking_code) || a.partner.localeCompare(b.partner)),
    );
    const unmatched = await platform.pool.query(
      "SELECT caller_phone FROM call_responses_unmatched WHERE caller_phone = ANY($1) ORDER BY 1",
      [phones],
    );
    expect(unmatched.rows.map((r) => r.caller_phone)).toEqual([
      "+15125550301",
      "+15125550301",
      "+15125550302",
      "+15125550303",
      "+15125550304",
      "+15125550305",
    ]);
    // The barcode map before its mortgages: still no pieces, so still waiting; the mortgages make them.
    second.push(await ingest(f.barcodes));
    expect(
      (
        await platform.pool.query("SELECT count(*)::int AS n FROM deliveries_pending WHERE tracking_code = ANY($1)", [
          codes,
        ])
      ).rows[0].n,
    ).toBe(5);
    await addPieces(["C-220001"]);
    second.push(await ingest(f.mortgages));
    const feedsFirst = await feedState(codes, phones);
    expect(feedsFirst).toEqual(piecesFirst);

    // And the state itself is the expected one.
    const reason = `mail piece ${t("B-220002")} belongs to partner B: partner C's delivery feed can confirm only its own pieces`;
    expect(feedsFirst.deliveries.map((d) => [d.tracking_code, d.partner, iso(d.delivered_at), d.event_code])).toEqual(
      [
        [t("B-220001"), "B", "2026-11-20T20:00:00.000Z", "DELIVERED"],
        [t("B-220002"), "B", "2026-11-21T16:00:00.000Z", "DELIVERED"],
        [t("C-220001"), "C", "2026-11-20T15:00:00.000Z", "919"],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(
      feedsFirst.events.filter((e) => e.status === "rejected").map((e) => [e.partner, e.tracking_code, e.reason]),
    ).toEqual([["C", t("B-220002"), reason]]);
    expect(
      feedsFirst.responses.map((r) => [
        r.caller_phone,
        r.disposition,
        r.tracking_code,
        r.mortgage_id,
        r.partner,
        r.match_method,
      ]),
    ).toEqual([
      ["+15125550301", "interested", t("B-220001"), "B-220001", "B", "tracking_code"],
      ["+15125550301", "interested", t("B-220001"), "B-220001", "B", "mortgage_id"],
      ["+15125550302", "interested", t("B-220002"), "B-220002", "B", "mortgage_id"],
      ["+15125550303", "interested", null, null, null, null],
      ["+15125550304", "do_not_call", null, null, null, null],
      ["+15125550305", "callback", t("B-220001"), "B-220001", "B", "mortgage_id"],
    ]);
    expect(feedsFirst.leads.map((l) => [l.caller_phone, l.tracking_code, l.mortgage_id, iso(l.interested_at)])).toEqual(
      [
        ["+15125550301", t("B-220001"), "B-220001", "2026-11-22T15:00:00.000Z"],
        ["+15125550302", t("B-220002"), "B-220002", "2026-11-22T15:30:00.000Z"],
      ],
    );
    expect(feedsFirst.optOuts.map((o) => [o.channel, o.value, iso(o.opted_out_at), o.reason, o.origin])).toEqual([
      ["call", "+15125550304", "2026-11-22T16:30:00.000Z", "do-not-call request to the call center", "ivr"],
      ["sms", "+15125550304", "2026-11-22T16:30:00.000Z", "do-not-call request to the call center", "ivr"],
    ]);
    const stillUnmatched = await platform.pool.query(
      "SELECT caller_phone, keyed_mortgage_id, keyed_tracking FROM call_responses_unmatched WHERE caller_phone = ANY($1) ORDER BY 1",
      [phones],
    );
    expect(stillUnmatched.rows).toEqual([
      { caller_phone: "+15125550303", keyed_mortgage_id: "Z-1", keyed_tracking: "00270999999999999999" },
      { caller_phone: "+15125550304", keyed_mortgage_id: null, keyed_tracking: null },
    ]);
  });
});

describe("lead hand-off", () => {
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const handoff = async (day: string) =>
    (await platform.invoke("lead-handoff", {
      "detail-type": "Scheduled Event",
      source: "aws.events",
      time: `${day}T22:00:00Z`,
    })) as Leads.HandoffResult;
  const object = async (key: string) =>
    (await readAll(await s3Store(platform.s3).read(platform.bucket, key))).toString("utf8");
  const audit = async () =>
    (
      await platform.pool.query(
        "SELECT lead_id, day::text, file_key, handed_off_at FROM lead_handoff_items ORDER BY lead_id",
      )
    ).rows;
  const leadId = async (phone: string) =>
    (await platform.pool.query("SELECT id FROM leads WHERE caller_phone = $1", [phone])).rows.map((r) => Number(r.id));

  it("hands each lead off once, in a file whose cells a spreadsheet cannot run", async () => {
    await ingest(
      bMortgages("partner-b-mortgages-leads.csv", [
        ["B-230001", '=HYPERLINK("http://x.example","win")', "512-555-0401"],
        ["B-230002", "Zoe", "512-555-0402"],
        ["B-230003", "Ida", "512-555-0403"],
      ]),
    );
    await addPieces(["B-230001", "B-230002", "B-230003"]);
    await ingest(
      ivr("call-center-responses-leads-1.csv", [
        `512-555-0401,11/22/2026 9:00 AM,Interested,B-230001,`,
        `512-555-0401,11/22/2026 9:05 AM,Interested,,${t("B-230001")}`,
        `512-555-0402,11/22/2026 9:10 AM,Interested,B-230002,`,
        `512-555-0402,11/22/2026 9:20 AM,DNC,B-230002,`,
      ]),
    );
    expect(await leadId("+15125550401")).toHaveLength(1);
    const due = (
      await platform.pool.query(
        `SELECT id FROM leads l WHERE NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.channel = 'call' AND o.value = l.caller_phone) ORDER BY id`,
      )
    ).rows.map((r) => String(r.id));

    const first = await handoff(today);
    const key = `outbox/leads/${today}/leads-${today}.csv`;
    expect(first).toMatchObject({ day: today, key, created: true, leads: due.length, optedOut: 1 });
    const text = await object(key);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe(
      "lead_id,first_name,last_name,phone,email,property_address,property_city,property_state,property_zip,mortgage_id,loan_amount,lender,mail_partner,tracking_code,interested_at",
    );
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(due);
    const [injected] = await leadId("+15125550401");
    expect(lines).toContain(
      `${injected},"'=HYPERLINK(""http://x.example"",""win"")",Rivera,(512) 555-0401,,12 Oak St,Austin,TX,78745,B-230001,250000.00,Harbor Mortgage,B,${t("B-230001")},2026-11-22T15:00:00Z`,
    );
    expect(text).not.toContain("(512) 555-0402");
    const audited = await audit();
    expect(audited.map((a) => String(a.lead_id))).toEqual(due);
    expect(
      audited.every(
        (a) => a.day === today && a.file_key === key && a.handed_off_at.toISOString() === first.handedOffAt,
      ),
    ).toBe(true);
    // Written by the scheduled Lambda: the platform mirrors it as a plain file under LEADPIPE_HOME.
    await platform.mirrored();
    expect(readFileSync(path.join(tmp, "home", key), "utf8")).toBe(text);

    // The same day again: the same bytes, no new audit rows, even with a new lead waiting.
    await ingest(ivr("call-center-responses-leads-2.csv", [`512-555-0403,11/23/2026 9:00 AM,interested,B-230003,`]));
    const again = await handoff(today);
    expect(again).toEqual({ ...first, created: false, optedOut: 0 });
    expect(await object(key)).toBe(text);
    expect(await audit()).toEqual(audited);

    // The next day carries only the new lead; running it twice changes nothing either.
    const [late] = await leadId("+15125550403");
    const next = await handoff(tomorrow);
    expect(next).toMatchObject({ day: tomorrow, created: true, leads: 1 });
    expect(
      (await object(next.key))
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0]),
    ).toEqual([String(late)]);
    expect(await handoff(tomorrow)).toMatchObject({ created: false, leads: 1, sha256: next.sha256 });

    // `leadpipe leads handoff --json` prints where the file is beside its S3 key, and the file is there.
    const stdout = new PassThrough();
    let printed = "";
    stdout.on("data", (b: Buffer) => {
      printed += b.toString();
    });
    await leadsCommand(stdout, async () => platformConnection(platform)).parseAsync(
      ["handoff", "--day", tomorrow, "--json"],
      { from: "user" },
    );
    const cli = JSON.parse(printed);
    expect(cli).toMatchObject({
      day: tomorrow,
      key: next.key,
      bucket: platform.bucket,
      created: false,
      leads: 1,
      sha256: next.sha256,
      local_path: path.join(tmp, "home", "outbox", "leads", tomorrow, `leads-${tomorrow}.csv`),
    });
    expect(readFileSync(cli.local_path, "utf8")).toBe(await object(next.key));
    expect((await audit()).map((a) => Number(a.lead_id))).toEqual([...due.map(Number), late!].sort((a, b) => a - b));
  });
});

describe("the sample day's feeds", () => {
  it("ingest with every row accounted for, each bad row rejected with its line, field and reason", async () => {
    const expected: Record<string, { counts: [number, number, number]; rejects: [number, string, string, string][] }> =
      {
        "partner-a-deliveries-2026-11-20.csv": {
          counts: [6, 4, 2],
          rejects: [
            [7, "IMB", "ADFT-NOT-A-BARCODE", "imb: bar string has 18 bars, expected 65"],
            [8, "EVENT_TS", "2026-11-31T10:00:00Z", "expected a date and time as ISO"],
          ],
        },
        "partner-b-deliveries-2026-11-20.csv": {
          counts: [6, 4, 2],
          rejects: [
            [
              7,
              "Tracking Number",
              "0027022249700010000",
              "imb: numeric barcode has 19 digits, expected 20, 25, 29 or 31",
            ],
            [8, "Scan Time", "25:00", "expected a time like 14:03 or 2:03 PM"],
          ],
        },
        "partner-c-deliveries-2026-11-20.csv": {
          counts: [6, 4, 2],
          rejects: [
            [7, "Delivered", "2026-11-21 08:05", "expected a date and time as DD.MM.YYYY HH:MM"],
            [8, "Event", "9190", "expected a 3-digit USPS operation code"],
          ],
        },
        "partner-d-deliveries-2026-11-20.csv": {
          counts: [4, 3, 1],
          rejects: [
            [
              5,
              "Piece IMb",
              "F".repeat(65),
              "imb: character A is in neither character table; no single-bar repair passes",
            ],
          ],
        },
        "call-center-responses-2026-11-20.csv": {
          counts: [9, 7, 2],
          rejects: [
            [9, "Caller Phone", "555-0100", "expected a US phone number with 10 digits (area code and number)"],
            [10, "Call Start", "11/20/2026 25:00 PM", "expected a date and time as MM/DD/YYYY hh:mm"],
          ],
        },
      };
    for (const [name, want] of Object.entries(expected)) {
      const row = await ingest(path.join(sampleDay, name));
      const [read, accepted, rejected] = want.counts;
      expect(row, name).toMatchObject({
        status: "COMPLETE_WITH_ERRORS",
        rows_read: read,
        accepted,
        rejected,
        inserted: accepted,
        updated: 0,
        unchanged: 0,
      });
      expect(
        (await rejects(row.id)).map((r) => [r.row_number, r.field_name, r.field_value, r.error_message]),
        name,
      ).toEqual(want.rejects);
    }
    // Partner D's third barcode has one wrong bar that exactly one correction repairs: accepted as its piece.
    const repaired = await platform.pool.query(
      "SELECT partner, event_code FROM delivery_events WHERE tracking_code = $1",
      [t("D-100003")],
    );
    expect(repaired.rows).toEqual([{ partner: "D", event_code: "DELIVERED - MAILBOX" }]);
    const dnc = await platform.pool.query(
      "SELECT channel, value FROM opt_outs WHERE origin = 'ivr' AND value IN ('+12135550107', '+17205550111') ORDER BY 2, 1",
    );
    expect(dnc.rows).toEqual([
      { channel: "call", value: "+12135550107" },
      { channel: "sms", value: "+12135550107" },
      { channel: "call", value: "+17205550111" },
      { channel: "sms", value: "+17205550111" },
    ]);

    // Then the partners' own files of the day (mortgages, partner A's workbook, barcode maps): the
    // pieces arrive after their deliveries and calls, which resolve as they would have the other way.
    const { readdirSync } = await import("node:fs");
    const partnerFiles = readdirSync(sampleDay)
      .filter((f) => /^partner-[a-d]-(mortgages|barcodes)/.test(f))
      .sort();
    for (const f of partnerFiles) await ingest(path.join(sampleDay, f));
    const backlog = await platform.pool.query(
      `SELECT e.partner, e.status, count(*)::int AS n FROM delivery_events e JOIN imports i ON i.id = e.import_id
        WHERE i.file_name LIKE 'partner-_-deliveries-2026-11-20.csv' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(backlog.rows).toEqual([
      { partner: "A", status: "applied", n: 4 },
      { partner: "B", status: "applied", n: 4 },
      { partner: "C", status: "applied", n: 3 },
      { partner: "C", status: "rejected", n: 1 },
      { partner: "D", status: "applied", n: 3 },
    ]);
    expect(
      (
        await platform.pool.query(
          "SELECT partner, tracking_code, reason FROM deliveries_rejected WHERE file_name = 'partner-c-deliveries-2026-11-20.csv'",
        )
      ).rows,
    ).toEqual([
      {
        partner: "C",
        tracking_code: t("B-100005"),
        reason: `mail piece ${t("B-100005")} belongs to partner B: partner C's delivery feed can confirm only its own pieces`,
      },
    ]);
    const calls = await platform.pool.query(
      `SELECT caller_phone, match_method, mortgage_id FROM call_responses r JOIN imports i ON i.id = r.import_id
        WHERE i.file_name = 'call-center-responses-2026-11-20.csv' ORDER BY called_at`,
    );
    expect(calls.rows.map((r) => [r.caller_phone, r.match_method, r.mortgage_id])).toEqual([
      ["+15125550142", "tracking_code", "B-100001"],
      ["+16175550199", "mortgage_id", "B-100002"],
      ["+12135550107", null, null],
      ["+18015550166", "mortgage_id", "B-100004"],
      ["+14045550123", "tracking_code", "B-100005"],
      ["+12065550175", null, null],
      ["+17205550111", null, null],
    ]);
  });
});

describe("a generated day", () => {
  it("lands every partner's deliveries on the generated pieces and matches the calls about them", async () => {
    const opts = { day: "2026-12-01", rows: 40, startId: 600_000 };
    const ids = ["A", "B", "C", "D"].flatMap((p) =>
      Array.from({ length: opts.rows }, (_, i) => `${p}-${opts.startId + i}`),
    );
    await addPieces(ids);
    const mortgages = path.join(tmp, "partner-b-mortgages-2026-12-01.csv");
    await writePartnerB(mortgages, opts);
    expect((await ingest(mortgages)).status).toBe("COMPLETE");
    for (const p of ["A", "B", "C", "D"] as const) {
      const f = path.join(tmp, `partner-${p.toLowerCase()}-deliveries-2026-12-01.csv`);
      await writeDeliveries(f, p, { ...opts, badEvery: 10 });
      const row = await ingest(f);
      expect(row, p).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 40, rejected: 4, accepted: 36 });
      const states = await platform.pool.query(
        "SELECT status, count(*)::int AS n FROM delivery_events WHERE import_id = $1 GROUP BY status",
        [row.id],
      );
      expect(states.rows, p).toEqual([{ status: "applied", n: row.inserted }]);
    }
    const calls = path.join(tmp, "call-center-responses-2026-12-01.csv");
    await writeCallResponses(calls, opts);
    const row = await ingest(calls);
    expect(row).toMatchObject({ status: "COMPLETE", rows_read: 40, accepted: 40 });
    // Every call that keyed a valid tracking code or a loan number of the day is matched; the rest are reported.
    const unmatched = await platform.pool.query(
      `SELECT count(*)::int AS n FROM call_responses r WHERE r.import_id = $1 AND r.match_method IS NULL
          AND (r.lookup_tracking_code IN (SELECT tracking_code FROM mail_pieces) OR r.lookup_mortgage_id IN (SELECT mortgage_id FROM mail_pieces))`,
      [row.id],
    );
    expect(unmatched.rows[0].n).toBe(0);
    const reported = await platform.pool.query(
      "SELECT count(*)::int AS n FROM call_responses_unmatched WHERE file_name = 'call-center-responses-2026-12-01.csv'",
    );
    const byMethod = await platform.pool.query(
      "SELECT coalesce(match_method, 'unmatched') AS m, count(*)::int AS n FROM call_responses WHERE import_id = $1 GROUP BY 1 ORDER BY 1",
      [row.id],
    );
    const counts = Object.fromEntries(byMethod.rows.map((r) => [r.m, r.n]));
    expect(counts.mortgage_id).toBeGreaterThan(0);
    expect(counts.tracking_code).toBeGreaterThan(0);
    expect(reported.rows[0].n).toBe(counts.unmatched ?? 0);
    expect((counts.mortgage_id ?? 0) + (counts.tracking_code ?? 0) + (counts.unmatched ?? 0)).toBe(40);
  });
});

describe("mortgage match keys, after everything above", () => {
  it("are stored with every mortgage and mail piece the tests above landed", async () => {
    const { rows } = await platform.pool.query(
      `SELECT (SELECT count(*)::int FROM mortgages WHERE match_key IS DISTINCT FROM mortgage_match_key(mortgage_id)) AS mortgages,
              (SELECT count(*)::int FROM mail_pieces WHERE match_key IS DISTINCT FROM mortgage_match_key(mortgage_id)) AS pieces,
              (SELECT count(*)::int FROM mortgages) AS mortgages_total,
              (SELECT count(*)::int FROM mail_pieces WHERE mortgage_id IS NOT NULL) AS pieces_total`,
    );
    expect(rows[0]).toMatchObject({ mortgages: 0, pieces: 0 });
    expect(rows[0].mortgages_total).toBeGreaterThan(0);
    expect(rows[0].pieces_total).toBeGreaterThan(0);
  });
});
