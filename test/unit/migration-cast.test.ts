import { describe, expect, it } from "vitest";
import { castRow, castValue, repairText, zonedToUtc, type LegacyColumn } from "../../packages/core/src/migration/cast";
import { tableSpecs } from "../../packages/core/src/migration/mapping";

const col = (name: string, kind: LegacyColumn["kind"]): LegacyColumn => ({ name, kind, declared: kind });
const utc = { timeZone: "UTC" };

describe("legacy casts", () => {
  it("keeps every integer width and DECIMAL as their text", () => {
    expect(castValue("18446744073709551615", col("n", "integer"), utc)).toEqual({ value: "18446744073709551615" });
    expect(castValue(9007199254740993n, col("n", "integer"), utc)).toEqual({ value: "9007199254740993" });
    expect(castValue("0.10", col("d", "decimal"), utc)).toEqual({ value: "0.10" });
  });

  it("turns zero and impossible dates into NULL with the raw value flagged", () => {
    expect(castValue("0000-00-00", col("d", "date"), utc)).toEqual({
      value: null,
      flag: { raw: "0000-00-00", reason: "zero date" },
    });
    expect(castValue("0000-00-00 00:00:00", col("d", "datetime"), utc)).toEqual({
      value: null,
      flag: { raw: "0000-00-00 00:00:00", reason: "zero date" },
    });
    expect(castValue("2021-02-30", col("d", "date"), utc)).toEqual({
      value: null,
      flag: { raw: "2021-02-30", reason: "impossible date" },
    });
    expect(castValue("2024-02-29", col("d", "date"), utc)).toEqual({ value: "2024-02-29" });
  });

  it("reads DATETIME in the declared zone, across daylight saving", () => {
    expect(zonedToUtc("2020-03-01 12:00:00", "America/New_York")).toBe("2020-03-01T17:00:00Z");
    expect(zonedToUtc("2020-07-01 12:00:00", "America/New_York")).toBe("2020-07-01T16:00:00Z");
    expect(zonedToUtc("2020-07-01 12:00:00.250", "Europe/Berlin")).toBe("2020-07-01T10:00:00.250Z");
    expect(castValue("2019-11-03 01:30:00", col("t", "timestamp"), { timeZone: "America/New_York" })).toEqual({
      value: "2019-11-03T01:30:00Z",
    });
  });

  it("reads every minute around a transition as a fresh formatter would (the cached offsets)", () => {
    // Each UTC instant formatted in the zone by a formatter of its own, back to the wall clock.
    const wallOf = (iso: string, zone: string) =>
      new Intl.DateTimeFormat("sv-SE", { timeZone: zone, dateStyle: "short", timeStyle: "medium" }).format(
        new Date(iso),
      );
    for (const [zone, day] of [
      ["America/New_York", "2019-11-03"],
      ["America/New_York", "2019-03-10"],
      ["Australia/Lord_Howe", "2020-04-05"], // a half-hour shift
      ["Asia/Kathmandu", "2020-01-01"], // +05:45
    ] as const) {
      for (let m = 0; m < 24 * 60; m += 7) {
        const wall = `${day} ${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}:00`;
        const utc = zonedToUtc(wall, zone);
        const back = wallOf(utc, zone);
        // A wall time in the spring gap does not exist: it is read with the offset before the gap.
        if (back !== wall) expect(Date.parse(utc) - Date.parse(`${wall.replace(" ", "T")}Z`)).toBeGreaterThan(0);
        else expect(back).toBe(wall);
      }
    }
    // The repeated hour: the earlier instant, whether or not its quarter hour was cached before.
    expect(zonedToUtc("2019-11-03 01:30:00", "America/New_York")).toBe("2019-11-03T05:30:00Z");
    expect(zonedToUtc("2019-11-03 01:59:00", "America/New_York")).toBe("2019-11-03T05:59:00Z");
  });

  it("repairs latin1-read UTF-8 only when certain, refuses the rest", () => {
    expect(repairText("MÃ¼ller")).toBe("Müller");
    expect(repairText("José")).toBe("José");
    expect(repairText("Ãx plain")).toBe("Ãx plain");
    expect(() => repairText("MÃ¼ller €")).toThrow(/mixes other characters/);
    expect(() => repairText("a\ufffdb")).toThrow(/invalid bytes/);
    expect(castRow({ a: "MÃ¼ller €" }, [col("a", "text")], utc)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^a: /),
    });
  });

  it("keeps NULL and empty apart", () => {
    expect(castRow({ a: null, b: "" }, [col("a", "text"), col("b", "text")], utc)).toEqual({
      ok: true,
      values: { a: null, b: "" },
      flags: {},
    });
  });
});

describe("legacy table mappings", () => {
  const table = {
    name: "customers",
    key: ["id"],
    columns: [
      col("id", "integer"),
      col("fname", "text"),
      col("surname", "text"),
      col("e_mail", "text"),
      col("secret", "text"),
      col("notes", "text"),
    ],
  };

  it("infers fields from column names, keeps the rest as extra, and lets a mapping file override", () => {
    const [spec] = tableSpecs([table], { tables: { customers: { columns: { e_mail: "email", secret: "drop" } } } });
    expect(spec).toMatchObject({
      target: "contacts",
      fields: { fname: "first_name", surname: "last_name", e_mail: "email" },
      dropped: ["secret"],
      extra: ["id", "notes"],
    });
  });

  it("refuses a table it cannot place, naming it, and unknown tables or columns", () => {
    const other = { name: "audit", key: ["id"], columns: [col("id", "integer"), col("action", "text")] };
    expect(() => tableSpecs([table, other])).toThrow(/no target for audit/);
    expect(tableSpecs([table, other], { tables: { audit: { target: "drop" } } })[1]).toMatchObject({ target: "drop" });
    expect(() => tableSpecs([table], { tables: { nope: {} } })).toThrow(/no table "nope"/);
    expect(() => tableSpecs([table], { tables: { customers: { columns: { nope: "drop" } } } })).toThrow(
      /no column "nope"/,
    );
  });

  it("infers opt-out and do-not-call targets from table names, their fields from column names", () => {
    const optouts = {
      name: "email_optouts",
      key: ["id"],
      columns: [col("id", "integer"), col("Email", "text"), col("unsubscribed_at", "datetime"), col("why", "text")],
    };
    const dnc = { name: "DNC_list", key: ["id"], columns: [col("id", "integer"), col("phone_number", "text")] };
    const [o, d] = tableSpecs([optouts, dnc]);
    expect(o).toMatchObject({
      target: "opt-outs",
      channel: "email",
      fields: { Email: "value", unsubscribed_at: "opted_out_at" },
      extra: ["id", "why"],
    });
    expect(d).toMatchObject({ target: "do-not-call", fields: { phone_number: "number" }, extra: ["id"] });
    // The mapping file names what the names do not say.
    const [m] = tableSpecs([optouts], {
      tables: { email_optouts: { columns: { why: "reason", Email: "value" }, channel: "sms" } },
    });
    expect(m).toMatchObject({ channel: "sms", fields: { Email: "value", why: "reason" } });
  });

  it("refuses a field of another target, and an opt-out table with no value or channel", () => {
    const optouts = { name: "optouts", key: ["id"], columns: [col("id", "integer"), col("contact", "text")] };
    expect(() => tableSpecs([optouts])).toThrow(/optouts → opt-outs: no channel column; declare "channel"/);
    expect(() => tableSpecs([optouts], { tables: { optouts: { columns: { contact: "email" } } } })).toThrow(
      /"email" is not a field of opt-outs/,
    );
    const bare = { name: "optouts", key: ["id"], columns: [col("id", "integer"), col("note", "text")] };
    expect(() => tableSpecs([bare])).toThrow(/no column for "value"/);
    expect(() => tableSpecs([table], { tables: { customers: { columns: { e_mail: "number" } } } })).toThrow(
      /"number" is not a contact field/,
    );
  });
});
