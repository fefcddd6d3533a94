import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPool, migrate, People, Roles, type Pool } from "@leadpipe/core";
import { personCommand } from "../../packages/local/src/commands/person";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

/*
 * The steward's CLI (`leadpipe person show|merge|unmerge|override`) against real PostgreSQL, logged in as
 * the pipeline role as the CLI is: what each action changes, its audit row, and that a later resolution
 * (a newer delivery of the same records) keeps the steward's decision.
 */

let pg: RunningPostgres;
let owner: Pool;
let pool: Pool;
let tmp: string;
/** console_audit is append-only (no TRUNCATE): each test reads the rows after this id. */
let auditFrom = 0;

const IMPORT = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

async function land(n: number, contacts: { key: string; input: People.ContactInput }[]) {
  await owner.query(
    `INSERT INTO imports (id, bucket, object_key, event_key, file_name, source, status)
     VALUES ($1, 'landing', $2, $2, $3, 'contacts', 'COMPLETE') ON CONFLICT DO NOTHING`,
    [IMPORT(n), `inbox/contacts/list-${n}.csv`, `list-${n}.csv`],
  );
  const rows = contacts.map((c, i) =>
    People.recordRow(People.standardizeContact(c.input, new Date("2026-01-01")), {
      source_kind: "contacts",
      source_key: c.key,
      import_id: IMPORT(n),
      source_row: i + 2,
      src_seq: ((BigInt(n) << 32n) + BigInt(i + 2)).toString(),
    }),
  );
  await People.upsertRecords(owner, rows);
  return People.resolveImport({ pool: owner }, IMPORT(n));
}

const ADA = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "(212) 555-0101" };
const ADA_AGAIN = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", city: "London" };
const AUGUSTA = { first_name: "Augusta", last_name: "King", phone: "212-555-0199", address: "12 St James Sq" };
const GRACE = { first_name: "Grace", last_name: "Hopper", email: "grace@example.com" };

/** Runs `leadpipe person …` in process against the test database; returns what it printed, or throws its error. */
async function cli(...args: string[]): Promise<string> {
  let printed = "";
  const out = new Writable({
    write(chunk, _enc, done) {
      printed += String(chunk);
      done();
    },
  });
  const cmd = personCommand(out, (fn) => fn(pool));
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: () => undefined });
  const by = args[0] === "show" ? [] : ["--by", "sam"];
  await cmd.parseAsync(["node", "person", ...args, ...by]);
  return printed;
}
const show = async (...args: string[]) =>
  (await cli("show", ...args, "--json"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as People.Steward.PersonDocument);

const personOf = async (key: string) =>
  Number(
    (await owner.query<{ p: string }>("SELECT person_id AS p FROM person_records WHERE source_key = $1", [key]))
      .rows[0]!.p,
  );
const recordOf = async (key: string) =>
  Number(
    (await owner.query<{ r: string }>("SELECT record_id AS r FROM person_records WHERE source_key = $1", [key]))
      .rows[0]!.r,
  );
const audits = async () =>
  (
    await owner.query<{
      username: string;
      role: string;
      action: string;
      target: string;
      outcome: string;
      detail: Record<string, unknown>;
    }>("SELECT username, role, action, target, outcome, detail FROM console_audit WHERE id > $1 ORDER BY id", [
      auditFrom,
    ])
  ).rows;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-steward-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  owner = createPool(pg.url, 3);
  await migrate(owner);
  await Roles.setRolePasswords(owner, { leadpipe_pipeline: pg.secrets.pipeline });
  pool = createPool(Roles.urlAs(pg.url, Roles.PIPELINE_ROLE, pg.secrets.pipeline), 2);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await owner?.end();
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await owner.query(`TRUNCATE persons, person_records, person_keys, person_value_counts, person_links, person_no_links,
    person_phones, person_emails, person_addresses, person_overrides, person_merges, merge_audit, people_resolutions,
    people_resolution_progress,
    imports RESTART IDENTITY CASCADE`);
  auditFrom = Number((await owner.query("SELECT coalesce(max(id), 0) AS n FROM console_audit")).rows[0].n);
  await land(1, [
    { key: "ada-1", input: ADA },
    { key: "ada-2", input: ADA_AGAIN },
    { key: "augusta", input: AUGUSTA },
    { key: "grace", input: GRACE },
  ]);
});

describe("person show", () => {
  it("finds a golden record by id, phone, e-mail and name, with its lineage document", async () => {
    const ada = await personOf("ada-1");
    expect(await personOf("ada-2")).toBe(ada);
    for (const q of [
      [String(ada)],
      ["--phone", "+1 212 555 0101"],
      ["--email", "ADA@Example.com"],
      ["--name", "ada lovelace"],
    ]) {
      const docs = await show(...q);
      expect(docs.map((d) => d.person_id)).toEqual([ada]);
    }
    const [d] = await show(String(ada));
    expect(d!.golden).toMatchObject({
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@example.com",
      phone: "+12125550101",
    });
    // Each source record: its import, file, row and the fields it supplied.
    expect(d!.records.map((r) => [r.source_key, r.file, r.row, r.import_id])).toEqual([
      ["ada-1", "list-1.csv", 2, IMPORT(1)],
      ["ada-2", "list-1.csv", 3, IMPORT(1)],
    ]);
    expect(d!.records[0]!.supplied).toEqual({
      first_name: "Ada",
      last_name: "Lovelace",
      email: "ada@example.com",
      phone: "+12125550101",
    });
    expect(d!.records[1]!.supplied).toMatchObject({ city: "LONDON" });
    // Which record gave each golden field, by which rule (the phone only ada-1 has; the name from the more complete record).
    expect(d!.provenance.phone).toMatchObject({ record_id: await recordOf("ada-1"), rule: "only source" });
    expect(d!.provenance.first_name).toMatchObject({
      record_id: await recordOf("ada-1"),
      rule: "most complete record",
    });
    // The link that joined them, with its rule and each field compared.
    expect(d!.links).toHaveLength(1);
    expect(d!.links[0]).toMatchObject({ tier: "exact", reason: "exact: e-mail" });
    expect(d!.links[0]!.fields).toEqual(
      expect.arrayContaining([
        { field: "email", comparison: "same", a: "ada@example.com", b: "ada@example.com" },
        { field: "phone", comparison: "missing", a: null, b: "+12125550101" },
      ]),
    );
    expect(d!.history.map((h) => h.action)).toEqual(["create", "survive"]);
    // The text form names the same things.
    const text = await cli("show", String(ada));
    expect(text).toMatch(/record \d+ {2}contacts:ada-1 {2}list-1\.csv row 2/);
    expect(text).toMatch(/exact: e-mail/);
  });

  it("refuses an ambiguous or empty question and says when nothing matches", async () => {
    await expect(cli("show", "1", "--email", "ada@example.com")).rejects.toThrow(/name one person/);
    await expect(cli("show")).rejects.toThrow(/name one person/);
    await expect(cli("show", "--email", "nobody@example.com")).rejects.toThrow(/no golden record matches/);
    await expect(cli("show", "--phone", "12")).rejects.toThrow(/not a phone number/);
  });
});

describe("person merge / unmerge / override", () => {
  it("merges, audits, survives a later resolution, and unmerges for good", async () => {
    const ada = await personOf("ada-1");
    const augusta = await personOf("augusta");
    const out = JSON.parse(
      await cli("merge", String(ada), String(augusta), "--reason", "same person, married name", "--json"),
    );
    expect(out).toMatchObject({ survivor: ada, absorbed: augusta, merge_id: 1 });
    expect(await personOf("augusta")).toBe(ada);
    const [d] = await show(String(ada));
    expect(d!.records.find((r) => r.source_key === "augusta")!.merged_from).toEqual({
      merge_id: 1,
      person_id: augusta,
      cause: "steward sam: same person, married name",
    });
    expect(d!.links.find((l) => l.tier === "manual")).toMatchObject({ reason: "manual: same person, married name" });
    expect(await audits()).toEqual([
      expect.objectContaining({
        username: "sam",
        role: "steward",
        action: "people.merge",
        target: `person ${ada}`,
        outcome: "ok",
        detail: expect.objectContaining({ survivor: ada, absorbed: augusta, merge_id: 1, via: "cli" }),
      }),
    ]);

    // A newer delivery of Augusta's record (a new phone) is resolved again: it stays where the steward put it.
    await land(2, [{ key: "augusta", input: { ...AUGUSTA, phone: "212-555-0142" } }]);
    expect(await personOf("augusta")).toBe(ada);

    // Unmerge by record: the merge is undone, Augusta's golden record comes back with its id.
    const split = JSON.parse(
      await cli("unmerge", String(ada), "--record", String(await recordOf("augusta")), "--reason", "not her", "--json"),
    );
    expect(split).toMatchObject({ merge_id: 1, person_id: augusta, records: [await recordOf("augusta")] });
    expect(await personOf("augusta")).toBe(augusta);
    // And a later delivery of both does not join them again.
    await land(3, [
      { key: "augusta", input: { ...AUGUSTA, email: "ada@example.com" } },
      { key: "ada-1", input: { ...ADA, city: "Paris" } },
    ]);
    expect(await personOf("augusta")).toBe(augusta);
    expect(await personOf("ada-1")).toBe(ada);
    expect((await audits()).map((a) => [a.action, a.outcome])).toEqual([
      ["people.merge", "ok"],
      ["people.unmerge", "ok"],
    ]);
  });

  it("splits a record that matching (not a merge) brought in, for good", async () => {
    const ada = await personOf("ada-1");
    const r = await recordOf("ada-2");
    const split = JSON.parse(
      await cli("unmerge", String(ada), "--record", String(r), "--reason", "a namesake", "--json"),
    );
    expect(split).toMatchObject({ merge_id: null, records: [r] });
    expect(split.person_id).not.toBe(ada);
    expect(await personOf("ada-2")).toBe(split.person_id);
    const [d] = await show(String(ada));
    expect(d!.links).toEqual([]);
    expect(d!.golden.city).toBeNull();
    // A newer delivery of the split record still shares Ada's e-mail: the steward's split holds.
    await land(2, [{ key: "ada-2", input: { ...ADA_AGAIN, city: "Leeds" } }]);
    expect(await personOf("ada-2")).toBe(split.person_id);
    expect(await personOf("ada-1")).toBe(ada);
    await expect(
      cli("unmerge", String(ada), "--record", String(await recordOf("ada-1")), "--reason", "x"),
    ).rejects.toThrow(/only record/);
  });

  it("an override wins survivorship now and after a newer delivery", async () => {
    const ada = await personOf("ada-1");
    await cli("override", String(ada), "--field", "first_name", "--value", "Augusta Ada", "--reason", "her legal name");
    let [d] = await show(String(ada));
    expect(d!.golden.first_name).toBe("Augusta Ada");
    expect(d!.provenance.first_name).toEqual({ value: "Augusta Ada", record_id: null, rule: "manual override" });
    await land(2, [{ key: "ada-1", input: { ...ADA, first_name: "Adah" } }]);
    [d] = await show(String(ada));
    expect(d!.golden.first_name).toBe("Augusta Ada");
    expect(d!.overrides).toEqual([
      expect.objectContaining({ field: "first_name", set_by: "sam", reason: "her legal name" }),
    ]);
    await cli("override", String(ada), "--field", "city", "--blank", "--reason", "moved away");
    [d] = await show(String(ada));
    expect(d!.golden.city).toBeNull();
    expect((await audits()).map((a) => [a.action, a.outcome, a.detail.field])).toEqual([
      ["people.override", "ok", "first_name"],
      ["people.override", "ok", "city"],
    ]);
  });

  it("refuses what the data does not allow, changes nothing, and audits the refusal", async () => {
    const ada = await personOf("ada-1");
    const grace = await personOf("grace");
    const before = (await owner.query("SELECT person_id, record_id FROM person_records ORDER BY 1, 2")).rows;
    await expect(cli("merge", String(ada), "999", "--reason", "typo")).rejects.toThrow(/no golden record 999/);
    await expect(cli("merge", String(ada), String(ada), "--reason", "x")).rejects.toThrow(/into itself/);
    await expect(
      cli("unmerge", String(ada), "--record", String(await recordOf("grace")), "--reason", "x"),
    ).rejects.toThrow(/not one of person/);
    await expect(cli("override", String(grace), "--field", "ssn", "--value", "1", "--reason", "x")).rejects.toThrow(
      /not a field/,
    );
    await expect(
      cli("override", String(grace), "--field", "dob", "--value", "1990-02-31", "--reason", "x"),
    ).rejects.toThrow(/date/);
    await expect(cli("merge", String(ada), String(grace), "--reason", " ")).rejects.toThrow(/reason/);
    expect((await owner.query("SELECT person_id, record_id FROM person_records ORDER BY 1, 2")).rows).toEqual(before);
    expect((await owner.query("SELECT count(*)::int AS n FROM person_merges")).rows[0].n).toBe(0);
    expect((await owner.query("SELECT count(*)::int AS n FROM person_overrides")).rows[0].n).toBe(0);
    expect((await audits()).map((a) => [a.action, a.outcome])).toEqual([
      ["people.merge", "refused"],
      ["people.merge", "refused"],
      ["people.unmerge", "refused"],
      ["people.override", "refused"],
      ["people.override", "refused"],
    ]);
  });

  it("runs the console's merge and unmerge by merge id: no reason needed, its role and address audited", async () => {
    const ada = await personOf("ada-1");
    const augusta = await personOf("augusta");
    const who = { username: "stew", via: "console", role: "steward", ip: "127.0.0.1", requireReason: false };
    const { merge_id } = await People.Steward.merge(pool, who, ada, augusta, null);
    expect(await personOf("augusta")).toBe(ada);
    const merged = await owner.query("SELECT cause FROM person_merges WHERE merge_id = $1", [merge_id]);
    expect(merged.rows[0].cause).toBe("manual by stew");

    const undone = await People.Steward.unmergeById(pool, who, merge_id, null);
    expect(undone).toMatchObject({ merge_id, person_id: augusta, records: [await recordOf("augusta")] });
    const after = await owner.query("SELECT unmerged_at, unmerged_by FROM person_merges WHERE merge_id = $1", [
      merge_id,
    ]);
    expect(after.rows[0].unmerged_by).toBe("stew");
    expect(after.rows[0].unmerged_at).not.toBeNull();
    // undone once only; an unknown merge is refused too
    await expect(People.Steward.unmergeById(pool, who, merge_id, null)).rejects.toThrow(/already undone/);
    await expect(People.Steward.unmergeById(pool, who, 999, null)).rejects.toThrow(/no merge 999/);
    // the pair is never linked again by a later delivery
    await land(2, [{ key: "augusta", input: { ...AUGUSTA, email: "ada@example.com" } }]);
    expect(await personOf("augusta")).toBe(augusta);

    const rows = (
      await owner.query<{ action: string; target: string; outcome: string; role: string; ip: string; via: string }>(
        "SELECT action, target, outcome, role, ip, detail->>'via' AS via FROM console_audit WHERE id > $1 ORDER BY id",
        [auditFrom],
      )
    ).rows;
    expect(rows.map((r) => [r.action, r.target, r.outcome])).toEqual([
      ["people.merge", `person ${ada}`, "ok"],
      ["people.unmerge", `merge ${merge_id}`, "ok"],
      ["people.unmerge", `merge ${merge_id}`, "refused"],
      ["people.unmerge", "merge 999", "refused"],
    ]);
    // every row as the console's user asked: its role, its address, via the console
    expect(new Set(rows.map((r) => `${r.role} ${r.ip} ${r.via}`))).toEqual(new Set(["steward 127.0.0.1 console"]));
  });
});
