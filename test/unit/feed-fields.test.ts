import { describe, expect, it } from "vitest";
import { clock, e164, imb, phoneE164, timestamp, vocabulary } from "../../packages/core/src/sources/fields";
import { DISPOSITIONS, callCenterResponses } from "../../packages/core/src/sources/call-center-responses";
import { partnerBDeliveries } from "../../packages/core/src/sources/partner-b-deliveries";
import { Imb, Sources } from "@leadpipe/core";
import { trackingCodeFor } from "../../packages/local/src/generate/random";

type Schema = {
  safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { message: string }[] } };
};
const ok = (schema: Schema, v: string) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be accepted`).toBe(true);
  return r.data;
};
const bad = (schema: Schema, v: string) => {
  const r = schema.safeParse(v);
  expect(r.success, `${JSON.stringify(v)} should be rejected`).toBe(false);
  return r.error!.issues[0]!.message;
};

describe("feed field coercers", () => {
  const tracking = "01234567094987654321";
  it("imb reads every encoding to the tracking and routing codes, and refuses with the codec's reason", () => {
    const bars = Imb.encode(tracking, "01234567891");
    expect(ok(imb(), ` ${bars.toLowerCase()} `)).toEqual({
      tracking,
      routing: "01234567891",
      raw: ` ${bars.toLowerCase()} `,
    });
    expect(ok(imb(), `${tracking}-01234-5678-91`)).toEqual({
      tracking,
      routing: "01234567891",
      raw: `${tracking}-01234-5678-91`,
    });
    expect(ok(imb(), tracking)).toEqual({ tracking, routing: "", raw: tracking });
    expect(bad(imb(), "0123456709498765432")).toBe("imb: numeric barcode has 19 digits, expected 20, 25, 29 or 31");
    expect(bad(imb(), "ADFT")).toBe("imb: bar string has 4 bars, expected 65");
    expect(bad(imb({ required: true }), "")).toBe("required value is missing");
  });

  it("phones become E.164 US numbers; anything else is refused", () => {
    expect(e164("(512) 555-0142")).toBe("+15125550142");
    expect(e164("1-512-555-0142")).toBe("+15125550142");
    expect(e164("+1 512.555.0142")).toBe("+15125550142");
    expect(e164("555-0142")).toBeUndefined();
    expect(e164("(112) 555-0142")).toBeUndefined();
    expect(e164("(512) 155-0142")).toBeUndefined();
    expect(e164("2-512-555-0142")).toBeUndefined();
    expect(bad(phoneE164(), "512-555-01x2")).toBe("expected a US phone number with 10 digits (area code and number)");
  });

  it("timestamps: declared format, real calendar times, local times carry the partner's zone", () => {
    expect(ok(timestamp("ISO"), "2026-11-20T10:14:00-06:00")).toBe("2026-11-20 10:14:00-06:00");
    expect(ok(timestamp("ISO"), "2026-11-20 15:40:00Z")).toBe("2026-11-20 15:40:00+00:00");
    expect(ok(timestamp("ISO"), "2026-11-20T15:40+0530")).toBe("2026-11-20 15:40:00+05:30");
    expect(ok(timestamp("ISO"), "2026-11-20T15:40:07.250")).toBe("2026-11-20 15:40:07 UTC");
    expect(ok(timestamp("MM/DD/YYYY hh:mm", { zone: "America/Chicago" }), "11/20/2026 12:05 AM")).toBe(
      "2026-11-20 00:05:00 America/Chicago",
    );
    expect(ok(timestamp("MM/DD/YYYY hh:mm", { zone: "America/Chicago" }), "11/20/2026 12:05 pm")).toBe(
      "2026-11-20 12:05:00 America/Chicago",
    );
    expect(ok(timestamp("DD.MM.YYYY HH:MM"), "1.2.2026 23:59")).toBe("2026-02-01 23:59:00 UTC");
    expect(bad(timestamp("ISO"), "2026-11-31T10:00:00Z")).toBe("expected a date and time as ISO");
    expect(bad(timestamp("MM/DD/YYYY hh:mm"), "11/20/2026 13:05 PM")).toBe(
      "expected a date and time as MM/DD/YYYY hh:mm",
    );
    expect(bad(timestamp("DD.MM.YYYY HH:MM"), "20.11.2026 24:00")).toBe("expected a date and time as DD.MM.YYYY HH:MM");
    expect(ok(clock(), "2:03 PM")).toBe("14:03:00");
    expect(ok(clock(), "09:15:30")).toBe("09:15:30");
    expect(bad(clock(), "25:00")).toBe("expected a time like 14:03 or 2:03 PM");
  });

  it("dispositions are one closed vocabulary however they are written", () => {
    const d = vocabulary(DISPOSITIONS);
    expect(["Interested", " INTERESTED ", "yes"].map((v) => ok(d, v))).toEqual([
      "interested",
      "interested",
      "interested",
    ]);
    expect(["call back", "CALLBACK", "Call-Back Request"].map((v) => ok(d, v))).toEqual([
      "callback",
      "callback",
      "callback",
    ]);
    expect(["Not Interested", "not_interested", "NOT-INTERESTED"].map((v) => ok(d, v))).toEqual([
      "not_interested",
      "not_interested",
      "not_interested",
    ]);
    expect(["DNC", "Do Not Call Request", "do_not_call"].map((v) => ok(d, v))).toEqual([
      "do_not_call",
      "do_not_call",
      "do_not_call",
    ]);
    expect(bad(d, "maybe")).toBe("expected one of interested, callback, not_interested, do_not_call");
  });
});

describe("feed specs", () => {
  it("each delivery and call-center file is recognized by its name, and no two specs claim one name", () => {
    const names: Record<string, string> = {
      "partner-a-deliveries-2026-11-20.csv": "partner-a-deliveries",
      "Partner_B_Deliveries_20261120.csv": "partner-b-deliveries",
      "partner-c-deliveries-2026-11-20.csv": "partner-c-deliveries",
      "PARTNER D DELIVERY 2026-11-20.CSV": "partner-d-deliveries",
      "call-center-responses-2026-11-20.csv": "call-center-responses",
      "ivr_export_20261120.csv": "call-center-responses",
      "partner-b-mortgages-2026-11-20.csv": "partner-b-mortgages",
    };
    for (const [file, source] of Object.entries(names)) {
      expect(
        Sources.all.filter((s) => s.fileName.test(file)).map((s) => s.name),
        file,
      ).toEqual([source]);
    }
  });

  it("a call keeps what the caller keyed, and looks up only what can be a tracking code or mortgage id", () => {
    const row = (over: Record<string, string>) =>
      callCenterResponses.row.fast({
        phone: "512-555-0142",
        call_start: "11/20/2026 9:12 AM",
        disposition: "Interested",
        loan: "",
        tracking: "",
        ...over,
      });
    expect(row({ loan: " b 100001 ", tracking: "0027-0222497-000100001" })).toEqual({
      caller_phone: "+15125550142",
      called_at: "2026-11-20 09:12:00 America/Chicago",
      disposition: "interested",
      keyed_mortgage_id: "b 100001",
      keyed_tracking: "0027-0222497-000100001",
      lookup_mortgage_id: "B100001",
      lookup_tracking_code: "00270222497000100001",
    });
    expect(row({ loan: "b-100001.", tracking: "0027022249700010000" })).toMatchObject({
      lookup_mortgage_id: "B100001",
      lookup_tracking_code: null,
      keyed_tracking: "0027022249700010000",
    });
    expect(row({ loan: "--", tracking: "" })).toMatchObject({
      keyed_mortgage_id: "--",
      lookup_mortgage_id: null,
      keyed_tracking: null,
      lookup_tracking_code: null,
    });
  });

  it("partner B's separate scan date and time become one Eastern local time", () => {
    expect(
      partnerBDeliveries.row.fast({
        imb: "00270222497000100001 78745 2231",
        scan_date: "11/20/2026",
        scan_time: "2:03 PM",
        status: " delivered - mailbox ",
      }),
    ).toEqual({
      tracking_code: "00270222497000100001",
      routing_code: "787452231",
      imb_raw: "00270222497000100001 78745 2231",
      event_at: "2026-11-20 14:03:00 America/New_York",
      event_code: "DELIVERED - MAILBOX",
    });
  });
});

describe("trackingCodeFor", () => {
  it("is a valid, deterministic tracking code, distinct per mortgage id and partner", () => {
    expect(trackingCodeFor("B-100001")).toBe("00270222497000100001");
    expect(trackingCodeFor("b-100001")).toBe("00270222497000100001");
    expect(trackingCodeFor("A-100001")).toBe("00270289640000100001");
    const codes = new Set<string>();
    for (const p of ["A", "B", "C", "D"])
      for (let i = 100_000; i < 102_000; i++) codes.add(trackingCodeFor(`${p}-${i}`));
    expect(codes.size).toBe(8000);
    for (const c of [...codes].slice(0, 50)) expect(Imb.parse(c).tracking).toBe(c);
  });
});

describe("feed generators", () => {
  it("write the same bytes for the same day and size, with the spec's header", async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { writeDeliveries, writeCallResponses } = await import("../../packages/local/src/generate/feeds");
    const dir = mkdtempSync(path.join(os.tmpdir(), "leadpipe-feedgen-"));
    try {
      for (const run of ["1", "2"]) {
        await writeDeliveries(path.join(dir, `d${run}.csv`), "D", { day: "2026-11-20", rows: 200, badEvery: 50 });
        await writeCallResponses(path.join(dir, `c${run}.csv`), { day: "2026-11-20", rows: 200 });
      }
      const d = readFileSync(path.join(dir, "d1.csv"), "utf8");
      expect(readFileSync(path.join(dir, "d2.csv"), "utf8")).toBe(d);
      expect(readFileSync(path.join(dir, "c2.csv"), "utf8")).toBe(readFileSync(path.join(dir, "c1.csv"), "utf8"));
      const lines = d.trimEnd().split("\n");
      expect(lines[0]).toBe("Piece IMb,Event Date/Time,Operation,Facility ZIP");
      expect(lines).toHaveLength(201);
      expect(Imb.parse(lines[1]!.split(",")[0]!).tracking).toBe(trackingCodeFor("D-100000"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
