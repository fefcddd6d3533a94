/**
 * The Pipedrive sync against a fake Pipedrive on loopback and a real PostgreSQL: runs in sequence on
 * one account, each test starting from the state the previous left (as the runs of a day would).
 */
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, Integrations, type Pool } from "@leadpipe/core";
import { useDatabase } from "../support/database";
import { type FakePipedrive, startFakePipedrive } from "../support/fake-pipedrive";
import { declareFields, seedLeads } from "../support/pipedrive-seed";
import { lastSyncRuns } from "../../packages/console/src/data/integrations";
import { addUser } from "../../packages/console/src/auth/store";
import { startConsole } from "../../packages/console/src/server";
import { ConsoleClient } from "../support/console-client";

let pool: Pool;
let dbUrl: string;
let fake: FakePipedrive;
let connections: Integrations.Integrations;
let people: number[];
const log = createLogger({ service: "test" }, () => undefined);

useDatabase(
  "leadpipe-pipedrive-",
  (db) => {
    pool = db.pool;
    dbUrl = db.pg.url;
  },
  120_000,
);
beforeAll(async () => {
  fake = await startFakePipedrive();
  connections = {
    pipedrive: {
      api_url: fake.url,
      api_token: fake.token,
      owner_field_map: declareFields(fake),
      owner_id: 7,
      stage_id: 3,
    },
  };
  people = await seedLeads(pool, 1, 3);
}, 120_000);
afterAll(async () => {
  await fake?.close();
});

const sync = (o: { full?: boolean; dryRun?: boolean; conn?: Integrations.Integrations } = {}) =>
  Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, o.conn ?? connections, {
    trigger: "cli",
    full: Boolean(o.full),
    dryRun: Boolean(o.dryRun),
  });
const key = (name: string) => connections.pipedrive!.owner_field_map![name]!;
const writes = () => fake.stats.posts + fake.stats.patches + fake.stats.deletes;
const personOf = async (personId: number) => {
  const { rows } = await pool.query(
    "SELECT remote_id FROM pipedrive_snapshots WHERE entity = 'person' AND person_id = $1",
    [personId],
  );
  return fake.persons.get(Number(rows[0].remote_id))!;
};
const crm = async (personId: number) =>
  (await pool.query("SELECT * FROM person_crm_fields WHERE person_id = $1", [personId])).rows[0];

describe("pipedrive sync", () => {
  it("a dry run reads and compares but writes nothing on either side", async () => {
    const r = await sync({ dryRun: true });
    expect(r).toMatchObject({ system: "pipedrive", created: 3, updated: 0, failed: 0 });
    expect(writes()).toBe(0);
    expect(fake.persons.size).toBe(0);
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM pipedrive_snapshots)::int AS snaps, (SELECT count(*) FROM integration_cursors)::int AS cursors,
              (SELECT count(*) FROM person_crm_fields)::int AS crm`,
    );
    expect(rows[0]).toEqual({ snaps: 0, cursors: 0, crm: 0 });
  });

  it("creates a person and a deal per golden record with an interested lead; --json has exactly the contract's keys", async () => {
    const sent = fake.stats.requests;
    const r = await sync();
    expect(Object.keys(r)).toEqual([
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
    expect(r).toMatchObject({ created: 6, updated: 0, deleted: 0, failed: 0 });
    expect(r.requests).toBe(fake.stats.requests - sent);
    expect(fake.persons.size).toBe(3);
    expect(fake.deals.size).toBe(3);
    const p = await personOf(people[0]!);
    expect(p).toMatchObject({ name: "Ann1 Lee", owner_id: 7 });
    expect(p.emails).toEqual([{ value: "ann1@example.com", primary: true, label: "work" }]);
    expect(p.phones).toEqual([{ value: "+14152000001", primary: true, label: "work" }]);
    expect(p.custom_fields[key("person.tracking_code")]).toBe("00000000000000000001");
    expect(p.custom_fields[key("person.leadpipe_id")]).toMatch(/^leadpipe:[0-9a-f-]{36}$/);
    const deal = [...fake.deals.values()].find((d) => d.person_id === p.id)!;
    expect(deal).toMatchObject({ title: "Lead 00000000000000000001", stage_id: 3, owner_id: 7 });
    expect(deal.custom_fields[key("deal.interested_at")]).toBe("2026-11-02T15:01:00.000Z");
    // what Pipedrive set on creation (owner, stage) is on the golden record
    expect(await crm(people[0]!)).toMatchObject({ owner_id: 7, deal_stage_id: 3, deal_status: "open" });
  });

  it("a second run with nothing changed sends no write: our own writes are read back and not echoed", async () => {
    const before = writes();
    const r = await sync();
    expect(writes()).toBe(before);
    expect(r).toMatchObject({ created: 0, updated: 0, unchanged: 6, failed: 0 });
    expect(r.read).toBe(6); // our writes, read back inside the overlap window: recognised as ours
  });

  it("sends only what changed on the golden record, only the changed field", async () => {
    await pool.query("UPDATE persons SET last_name = 'Lee-Park' WHERE person_id = $1", [people[1]]);
    const patches = fake.stats.patches;
    const r = await sync();
    expect(r).toMatchObject({ created: 0, updated: 1, unchanged: 5 });
    expect(fake.stats.patches).toBe(patches + 1);
    expect((await personOf(people[1]!)).name).toBe("Ann2 Lee-Park");
  });

  it("resolves a conflict by ownership: Pipedrive's fields come back, ours are sent back", async () => {
    const p = await personOf(people[0]!);
    // a salesperson renames the person (leadpipe owns the name), ticks do-not-contact and writes notes
    fake.edit("persons", p.id, {
      name: "Annie Lee",
      owner_id: 12,
      custom_fields: { [key("person.do_not_contact")]: true, [key("person.notes")]: "asked not to be called" },
    });
    const deal = [...fake.deals.values()].find((d) => d.person_id === p.id)!;
    fake.edit("deals", deal.id, { stage_id: 5, status: "won" });
    // meanwhile the golden record's e-mail changed here
    await pool.query("UPDATE persons SET email = 'ann.lee@example.com' WHERE person_id = $1", [people[0]]);
    const r = await sync();
    expect(r.failed).toBe(0);
    expect(await crm(people[0]!)).toMatchObject({
      owner_id: 12,
      do_not_contact: true,
      notes: "asked not to be called",
      deal_stage_id: 5,
      deal_status: "won",
    });
    const optOuts = await pool.query(
      "SELECT channel, value, origin FROM opt_outs WHERE origin = 'pipedrive' ORDER BY channel",
    );
    expect(optOuts.rows).toEqual([
      { channel: "call", value: "+14152000001", origin: "pipedrive" },
      { channel: "email", value: "ann.lee@example.com", origin: "pipedrive" },
    ]);
    const after = await personOf(people[0]!);
    expect(after.name).toBe("Ann1 Lee"); // ours, sent back
    expect(after.emails).toEqual([{ value: "ann.lee@example.com", primary: true, label: "work" }]);
    expect(after.owner_id).toBe(12); // theirs, untouched
    expect(after.custom_fields[key("person.do_not_contact")]).toBe(true);
    const golden = await pool.query("SELECT first_name, last_name FROM persons WHERE person_id = $1", [people[0]]);
    expect(golden.rows[0]).toEqual({ first_name: "Ann1", last_name: "Lee" });
    // settled: the next run sends nothing
    const w = writes();
    expect(await sync()).toMatchObject({ created: 0, updated: 0 });
    expect(writes()).toBe(w);
  });

  it("unticking do-not-contact withdraws the opt-outs it created, and only those", async () => {
    // the same phone opted out from another source (the internal list): that one must stay
    await pool.query(
      `INSERT INTO opt_outs (channel, value, opted_out_at, reason, origin)
       VALUES ('call', '+14152000001', '2026-10-01T00:00:00Z', 'internal list', 'internal')`,
    );
    const p = await personOf(people[0]!);
    fake.edit("persons", p.id, { custom_fields: { [key("person.do_not_contact")]: false } });
    await sync();
    expect(await crm(people[0]!)).toMatchObject({ do_not_contact: false, dnc_opt_outs: null });
    const left = await pool.query("SELECT channel, value, origin FROM opt_outs ORDER BY origin");
    expect(left.rows).toEqual([{ channel: "call", value: "+14152000001", origin: "internal" }]);
    const audit = await pool.query(
      "SELECT target, detail FROM console_audit WHERE username = 'sync:pipedrive' AND action = 'opt-out withdrawn'",
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].target).toBe(String(people[0]));
    expect(audit.rows[0].detail.opt_outs.map((o: { channel: string }) => o.channel).sort()).toEqual(["call", "email"]);
    // ticked again: a new opt-out; the next run changes nothing more
    fake.edit("persons", p.id, { custom_fields: { [key("person.do_not_contact")]: true } });
    await sync();
    const again = await pool.query("SELECT count(*)::int AS n FROM opt_outs WHERE origin = 'pipedrive'");
    expect(again.rows[0].n).toBe(2);
    await sync();
    expect((await pool.query("SELECT count(*)::int AS n FROM opt_outs")).rows[0].n).toBe(3);
  });

  it("does not lose a record updated twice within one second", async () => {
    const p = await personOf(people[2]!);
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
    fake.setNow(second);
    fake.edit("persons", p.id, { custom_fields: { [key("person.notes")]: "first" } });
    await sync();
    expect((await crm(people[2]!)).notes).toBe("first");
    fake.edit("persons", p.id, { custom_fields: { [key("person.notes")]: "second" } });
    expect(p.update_time).toBe(`${second.toISOString().slice(0, 19)}Z`);
    fake.setNow(undefined);
    const r = await sync();
    expect(r.updated).toBe(1);
    expect((await crm(people[2]!)).notes).toBe("second");
  });

  it("keeps a refused write in the retry ledger and retries it on later runs until accepted", async () => {
    const [newcomer] = await seedLeads(pool, 4, 1);
    fake.rejectWrites((entity, body) =>
      entity === "persons" && JSON.stringify(body).includes("ann4@") ? "Invalid email address" : undefined,
    );
    const r1 = await sync();
    expect(r1).toMatchObject({ created: 0, failed: 1 });
    await sync();
    const ledger = await pool.query(
      "SELECT attempts, last_status, last_error, resolved_at FROM pipedrive_retry_ledger",
    );
    expect(ledger.rows).toHaveLength(1);
    expect(ledger.rows[0]).toMatchObject({ attempts: 2, last_status: 400, resolved_at: null });
    expect(ledger.rows[0].last_error).toMatch(/Invalid email address/);
    expect(fake.persons.size).toBe(3);
    fake.rejectWrites(undefined);
    const r3 = await sync();
    expect(r3).toMatchObject({ created: 2, failed: 0 });
    expect((await personOf(newcomer!)).name).toBe("Ann4 Lee");
    const resolved = await pool.query("SELECT resolved_at FROM pipedrive_retry_ledger");
    expect(resolved.rows[0].resolved_at).toBeInstanceOf(Date);
  });

  it("finds a deletion with the full reconciliation and never re-creates the record", async () => {
    const p = await personOf(people[1]!);
    fake.remove("persons", p.id);
    const incremental = await sync();
    expect(incremental.deleted).toBe(0);
    const full = await sync({ full: true });
    expect(full).toMatchObject({ deleted: 1, created: 0, failed: 0 });
    expect(full.read).toBe(fake.persons.size + fake.deals.size);
    expect(await crm(people[1]!)).toMatchObject({ deleted_in_crm: true });
    const posts = fake.stats.posts;
    await sync({ full: true });
    expect(fake.stats.posts).toBe(posts);
    expect([...fake.persons.values()].filter((x) => x.name === "Ann2 Lee-Park")).toHaveLength(0);
  });

  it("catches with the full reconciliation an update the incremental read could not see", async () => {
    const p = await personOf(people[0]!);
    // a change stamped before the cursor (a clock behind, an endpoint that lost it): no updated_since reaches it
    fake.setNow(new Date(Date.now() - 3_600_000));
    fake.edit("persons", p.id, { custom_fields: { [key("person.notes")]: "stamped an hour back" } });
    fake.setNow(undefined);
    await sync();
    expect((await crm(people[0]!)).notes).not.toBe("stamped an hour back");
    const full = await sync({ full: true });
    expect(full).toMatchObject({ updated: 1, created: 0, deleted: 0, failed: 0 });
    expect((await crm(people[0]!)).notes).toBe("stamped an hour back");
  });

  it("waits out 429 bursts and retries a 5xx, counting every request sent", async () => {
    await pool.query("UPDATE persons SET first_name = 'Anna' WHERE person_id = $1", [people[2]]);
    const sent = fake.stats.requests;
    const throttled = fake.stats.throttled;
    fake.throttle(2, 1);
    const t0 = Date.now();
    const r = await sync();
    fake.fail(1, 502);
    const r2 = await sync();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(fake.stats.throttled - throttled).toBe(2);
    expect(r).toMatchObject({ updated: 1, failed: 0 });
    expect(r.requests + r2.requests).toBe(fake.stats.requests - sent);
    expect((await personOf(people[2]!)).name).toBe("Anna Lee");
  });

  it("pages by cursor without losing a record, even one updated while the pages are read", async () => {
    await seedLeads(pool, 5, 3);
    const paged = { pipedrive: { ...connections.pipedrive!, page_size: 2 } };
    expect(await sync({ conn: paged })).toMatchObject({ created: 6, failed: 0 });
    const live = [...fake.persons.values()].sort((a, b) => a.id - b.id);
    expect(live).toHaveLength(6);
    // every person edited by a salesperson in one second: one update_time, paged in id order
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
    fake.setNow(second);
    for (const p of live) fake.edit("persons", p.id, { custom_fields: { [key("person.notes")]: `paged ${p.id}` } });
    const [first, , , , , last] = live;
    let personPages = 0;
    // after the first page is served, the first record (already read) and the last (not yet) change again in
    // that same second: the cursor has passed the first, so only the next run's overlap can catch it
    const midPaging: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (new URL(String(input)).pathname === "/api/v2/persons" && (init?.method ?? "GET") === "GET")
        if (++personPages === 1) {
          fake.edit("persons", first!.id, { custom_fields: { [key("person.notes")]: "edited while paging" } });
          fake.edit("persons", last!.id, { custom_fields: { [key("person.notes")]: "edited while paging too" } });
        }
      return res;
    };
    const run = () =>
      Integrations.runSync(
        { pool, log },
        "pipedrive",
        Integrations.Pipedrive.pipedriveSync({ api: { fetch: midPaging } }),
        paged,
        {
          trigger: "cli",
          full: false,
          dryRun: false,
        },
      );
    const r1 = await run();
    expect(personPages).toBeGreaterThanOrEqual(3); // 6 persons at 2 a page (with the overlap's records)
    expect(r1.failed).toBe(0);
    const notesOf = async (id: number) =>
      (
        await pool.query(
          `SELECT c.notes FROM pipedrive_snapshots s JOIN person_crm_fields c USING (person_id)
            WHERE s.entity = 'person' AND s.remote_id = $1`,
          [id],
        )
      ).rows[0].notes;
    expect(await notesOf(last!.id)).toBe("edited while paging too");
    expect(await notesOf(first!.id)).toBe(`paged ${first!.id}`); // behind the cursor: this run could not see it
    fake.setNow(undefined);
    await run();
    const notes = await pool.query(
      `SELECT s.remote_id::int AS id, c.notes FROM pipedrive_snapshots s JOIN person_crm_fields c USING (person_id)
        WHERE s.entity = 'person' AND s.deleted_at IS NULL ORDER BY s.remote_id`,
    );
    expect(notes.rows).toEqual(
      live.map((p) => ({
        id: p.id,
        notes: p === first ? "edited while paging" : p === last ? "edited while paging too" : `paged ${p.id}`,
      })),
    );
    // nothing created twice: one Pipedrive person per golden record, one marker each
    const markers = [...fake.persons.values()].map((p) => p.custom_fields[key("person.leadpipe_id")]);
    expect(new Set(markers).size).toBe(markers.length);
  });

  it("follows a custom field by key when renamed; refuses a re-keyed field before writing anything", async () => {
    fake.personFields.find((f) => f.key === key("person.notes"))!.name = "Notes from sales";
    const p = await personOf(people[2]!);
    fake.edit("persons", p.id, { custom_fields: { [key("person.notes")]: "renamed field still read" } });
    await sync();
    expect((await crm(people[2]!)).notes).toBe("renamed field still read");
    const rekeyed = {
      pipedrive: {
        ...connections.pipedrive!,
        owner_field_map: { ...connections.pipedrive!.owner_field_map, "person.notes": "f".repeat(40) },
      },
    };
    const w = writes();
    await expect(sync({ conn: rekeyed })).rejects.toThrow(
      /owner_field_map."person.notes" = f{40} is not a person field in Pipedrive \(deleted, or re-created/,
    );
    expect(writes()).toBe(w);
    const last = await pool.query("SELECT status, error FROM integration_sync_runs ORDER BY started_at DESC LIMIT 1");
    expect(last.rows[0].status).toBe("failed");
  });

  it("writes every run to the audit log and lists the last runs for the console's Today page", async () => {
    const runs = await pool.query(
      "SELECT run_id::text, status FROM integration_sync_runs WHERE system = 'pipedrive' ORDER BY started_at",
    );
    const audit = await pool.query(
      `SELECT target, outcome, role, detail FROM console_audit WHERE username = 'sync:pipedrive' AND action = 'sync'
        ORDER BY id`,
    );
    expect(audit.rows.map((r) => [r.target, r.outcome])).toEqual(
      runs.rows.map((r) => [r.run_id, r.status === "succeeded" ? "ok" : "error"]),
    );
    expect(audit.rows[0].detail).toMatchObject({ trigger: "cli", dry_run: true, created: 3 });
    expect(JSON.stringify(audit.rows)).not.toContain(fake.token);
    const listed = await lastSyncRuns(pool);
    expect(listed).toHaveLength(5);
    expect(listed[0]).toMatchObject({ system: "pipedrive", status: "failed" });
    expect(String(listed[0]!.error)).toMatch(/is not a person field in Pipedrive/);
  });

  it("shows the runs on the console's Today page and Pipedrive's fields on the golden record's page", async () => {
    const unavailable = () => {
      throw new Error("not part of this test");
    };
    const web = await startConsole({
      pool,
      writer: pool,
      readonlyUrl: dbUrl,
      log,
      store: { head: unavailable, read: unavailable, write: unavailable },
      settings: { bucket: "test" },
      uploadDir: path.join(os.tmpdir(), "leadpipe-pipedrive-console-uploads"),
      upload: unavailable,
      replay: unavailable,
      alerts: async () => [],
    });
    try {
      await addUser(pool, "ops1", "ops", "correct horse battery staple");
      const c = new ConsoleClient(web.url);
      expect((await c.login("ops1", "correct horse battery staple")).status).toBe(303);
      const today = await (await c.get("/")).text();
      const syncs = today.slice(today.indexOf('id="syncs"'), today.indexOf("</table>", today.indexOf('id="syncs"')));
      expect(syncs).toContain('<span class="status-failed">failed</span>');
      expect(syncs).toContain("is not a person field in Pipedrive");
      expect(syncs.match(/<tr><td>pipedrive<\/td>/g)).toHaveLength(5);
      const page = await (await c.get(`/people/${people[0]}`)).text();
      const crmTable = page.slice(page.indexOf('id="crm"'), page.indexOf("</table>", page.indexOf('id="crm"')));
      expect(crmTable).toContain("<td>pipedrive</td><td>12</td><td>5</td><td>won</td><td>true</td>");
      expect(crmTable).toContain("edited while paging"); // the notes written in Pipedrive (the paging test's last)
    } finally {
      await web.close();
    }
  });
});
