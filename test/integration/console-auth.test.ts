import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reports, Roles, createPool, migrate, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { startConsole, type RunningConsole } from "../../packages/console/src/server";
import { routes, PUBLIC_PATHS } from "../../packages/console/src/routes";
import { ROLES, type Role } from "../../packages/console/src/auth/roles";
import { addUser } from "../../packages/console/src/auth/store";
import type { ConsoleDeps } from "../../packages/console/src/ports";
import { ConsoleClient } from "../support/console-client";
import { testConsoleDeps } from "../support/console-deps";

let pg0: RunningPostgres;
let pool: Pool;
let tmp: string;
let web: RunningConsole;
let shortWeb: RunningConsole;
const PASSWORD = "correct horse battery staple";
const sessions = new Map<Role, ConsoleClient>();
const tokens = new Map<Role, string>();

function deps(readonlyUrl: string): ConsoleDeps {
  return testConsoleDeps(
    { pool, readonlyUrl, tmp, why: "not part of this test: the e2e test drives it on the local platform" },
    { handoff: async () => ({ handedOff: 0 }) },
  );
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-console-"));
  pg0 = await startPostgres(path.join(tmp, "home", "pg"));
  pool = createPool(pg0.url, 4);
  await migrate(pool);
  await Roles.setRolePasswords(pool, {
    leadpipe_readonly: pg0.secrets.readonly,
    leadpipe_pipeline: pg0.secrets.pipeline,
  });
  const readonlyUrl = Roles.urlAs(pg0.url, Roles.READONLY_ROLE, pg0.secrets.readonly);
  for (const role of ROLES) await addUser(pool, `${role}1`, role, PASSWORD);
  web = await startConsole(deps(readonlyUrl), { maxFailures: 3, failureWindowMs: 60_000 });
  shortWeb = await startConsole(deps(readonlyUrl), { sessionTtlMs: 1500 });
  for (const role of ROLES) {
    const c = new ConsoleClient(web.url);
    const res = await c.login(`${role}1`, PASSWORD);
    expect(res.status, `login as ${role}`).toBe(303);
    sessions.set(role, c);
    tokens.set(role, await c.csrf());
  }
}, 180_000);

afterAll(async () => {
  await web?.close();
  await shortWeb?.close();
  await pool?.end();
  await pg0?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A concrete path for a route pattern (ids that parse but do not exist: the answer is about who may ask). */
function concrete(p: string): string {
  return p
    .replace(":id", p.startsWith("/people") ? "999999" : "00000000-0000-4000-8000-000000000000")
    .replace(":which", "errors")
    .replace(":name", Reports.reports[0]!.name);
}

describe("authorization: every route × every role", () => {
  const cases = routes.flatMap((r) => ROLES.map((role) => ({ route: r, role, allowed: r.roles.includes(role) })));

  it.each(cases.map((c) => [`${c.route.method} ${c.route.path} as ${c.role}`, c] as const))(
    "%s",
    async (_name, { route, role, allowed }) => {
      const c = sessions.get(role)!;
      const url = concrete(route.path);
      const res = route.method === "GET" ? await c.get(url) : await c.post(url, { _csrf: tokens.get(role)! });
      await res.arrayBuffer();
      if (allowed) {
        expect(res.status, `${role} may use ${route.method} ${route.path}`).not.toBe(401);
        expect(res.status).not.toBe(403);
        expect(res.status, "a handler failed").toBeLessThan(500);
        expect([200, 303, 400, 404]).toContain(res.status);
      } else {
        expect(res.status, `${role} must be refused ${route.method} ${route.path}`).toBe(403);
      }
    },
  );

  it("the table has every role somewhere and no route twice", () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const role of ROLES)
      expect(
        routes.some((r) => (r.roles.includes(role) && r.roles.length === 1) || r.roles.length === ROLES.length),
      ).toBe(true);
    expect(routes.filter((r) => r.roles.length === 1).map((r) => r.roles[0])).toEqual(
      expect.arrayContaining(["marketer", "ops", "steward", "admin"]),
    );
  });

  it("refusals are written to the audit log with who and what", async () => {
    const { rows } = await pool.query(
      "SELECT username, role, action, outcome FROM console_audit WHERE username = 'analyst1' AND action = 'POST /people/unmerge'",
    );
    expect(rows).toEqual([
      { username: "analyst1", role: "analyst", action: "POST /people/unmerge", outcome: "refused" },
    ]);
  });
});

describe("nothing without a login but /login and its assets", () => {
  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))("%s", async (_n, route) => {
    const anon = new ConsoleClient(web.url);
    const url = concrete(route.path);
    const res = route.method === "GET" ? await anon.get(url) : await anon.post(url, {});
    const text = await res.text();
    if (route.method === "GET") {
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toMatch(/^\/login/);
    } else {
      expect(res.status).toBe(401);
    }
    expect(text).not.toMatch(/<table/);
  });

  it("serves the public paths and redirects an unknown path to the login", async () => {
    const anon = new ConsoleClient(web.url);
    for (const p of PUBLIC_PATHS.filter((x) => x.startsWith("GET")).map((x) => x.slice(4))) {
      const res = await anon.get(p);
      expect(res.status, p).toBeLessThan(300);
    }
    expect((await anon.get("/nowhere")).status).toBe(302);
    expect((await anon.get("/assets/../package.json")).status).not.toBe(200);
  });

  it("sets the session cookie HttpOnly and SameSite=Strict, with security headers", async () => {
    const c = new ConsoleClient(web.url);
    const form = await c.get("/login");
    expect(form.headers.get("content-security-policy")).toContain("default-src 'self'");
    const token = ConsoleClient.csrfOf(await form.text());
    const res = await c.post("/login", { _csrf: token, username: "analyst1", password: PASSWORD });
    const cookie = res.headers.getSetCookie().find((s) => s.startsWith("lp_session="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
  });
});

describe("CSRF", () => {
  it("refuses a POST without the token, or with another session's", async () => {
    const c = sessions.get("analyst")!;
    const none = await c.post("/sql", { sql: "SELECT 1" });
    expect(none.status).toBe(403);
    expect(await none.text()).toMatch(/CSRF/);
    const other = await c.post("/sql", { sql: "SELECT 1", _csrf: tokens.get("ops")! });
    expect(other.status).toBe(403);
    const ok = await c.post("/sql", { sql: "SELECT 41 + 1 AS answer", _csrf: tokens.get("analyst")! });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/<td>42<\/td>/);
  });

  it("accepts the token as the htmx header too", async () => {
    const c = sessions.get("analyst")!;
    const res = await c.post("/sql", { sql: "SELECT 1 AS one" }, { "x-csrf-token": tokens.get("analyst")! });
    expect(res.status).toBe(200);
  });

  it("refuses a login form posted without its double-submit cookie", async () => {
    const c = new ConsoleClient(web.url);
    const token = ConsoleClient.csrfOf(await (await c.get("/login")).text());
    c.cookies.delete("lp_login_csrf");
    const res = await c.post("/login", { _csrf: token, username: "analyst1", password: PASSWORD });
    expect(res.status).toBe(403);
    expect(c.cookies.has("lp_session")).toBe(false);
  });
});

describe("sessions", () => {
  it("expires: a session past its lifetime is sent to the login", async () => {
    const c = new ConsoleClient(shortWeb.url);
    expect((await c.login("analyst1", PASSWORD)).status).toBe(303);
    expect((await c.get("/")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const res = await c.get("/");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?next=%2F");
  });

  it("ends when its row says so (logout elsewhere, a disabled user), whatever the cookie says", async () => {
    const c = new ConsoleClient(web.url);
    await c.login("steward1", PASSWORD);
    expect((await c.get("/people")).status).toBe(200);
    await pool.query(
      "UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE username = 'steward1' AND ended_at IS NULL",
    );
    expect((await c.get("/people")).status).toBe(302);
    // the fixture's steward session ended too: log it in again for later tests
    const again = new ConsoleClient(web.url);
    await again.login("steward1", PASSWORD);
    sessions.set("steward", again);
    tokens.set("steward", await again.csrf());
  });

  it("refuses a tampered cookie", async () => {
    const c = new ConsoleClient(web.url);
    await c.login("admin1", PASSWORD);
    const v = c.cookies.get("lp_session")!;
    const [id, exp, sig] = v.split(".");
    c.cookies.set("lp_session", `${id}.${Number(exp) + 86400}.${sig}`);
    expect((await c.get("/users")).status).toBe(302);
  });

  it("logout ends the session on the server", async () => {
    const c = new ConsoleClient(web.url);
    await c.login("ops1", PASSWORD);
    const cookie = c.cookies.get("lp_session")!;
    const token = await c.csrf();
    expect((await c.post("/logout", { _csrf: token })).status).toBe(303);
    c.cookies.set("lp_session", cookie);
    expect((await c.get("/")).status).toBe(302);
  });
});

describe("logins", () => {
  it("rate-limits wrong passwords per user name and address, then refuses even the right one", async () => {
    await addUser(pool, "victim", "analyst", PASSWORD);
    const c = new ConsoleClient(web.url);
    for (let i = 0; i < 3; i++) {
      const res = await c.login("victim", "wrong password " + i);
      expect(res.status).toBe(401);
      expect(await res.text()).toMatch(/Wrong user name or password/);
    }
    const limited = await c.login("victim", PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(c.cookies.has("lp_session")).toBe(false);
    // another user from the same address is not locked out
    expect((await new ConsoleClient(web.url).login("marketer1", PASSWORD)).status).toBe(303);
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n FROM console_audit WHERE username = 'victim' AND action = 'login' AND outcome = 'refused'",
    );
    expect(rows[0].n).toBe(4);
  });

  it("answers an unknown user exactly as a wrong password", async () => {
    const res = await new ConsoleClient(web.url).login("nobody-here", "whatever it is");
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/Wrong user name or password/);
  });

  it("keeps only an scrypt hash with its own salt", async () => {
    await addUser(pool, "twin-a", "analyst", PASSWORD);
    await addUser(pool, "twin-b", "analyst", PASSWORD);
    const { rows } = await pool.query<{ password_hash: string }>(
      "SELECT password_hash FROM console_users WHERE username LIKE 'twin-%' ORDER BY 1",
    );
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$\d+\$8\$\d+\$/);
    expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash);
    expect(rows.some((r) => r.password_hash.includes(PASSWORD))).toBe(false);
  });
});

describe("the audit log and the read-only role", () => {
  it("records each query with who ran it", async () => {
    const c = sessions.get("marketer")!;
    await c.post("/sql", { sql: "SELECT 'audited' AS x", _csrf: tokens.get("marketer")! });
    const { rows } = await pool.query(
      "SELECT username, role, outcome, detail->>'sql' AS sql FROM console_audit WHERE action = 'sql' AND username = 'marketer1' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ username: "marketer1", role: "marketer", outcome: "ok", sql: "SELECT 'audited' AS x" });
  });

  it("refuses a write in the SQL window, and audits the refusal", async () => {
    const c = sessions.get("analyst")!;
    const res = await c.post("/sql", { sql: "DELETE FROM imports", _csrf: tokens.get("analyst")! });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/refused/);
    const { rows } = await pool.query(
      "SELECT outcome FROM console_audit WHERE action = 'sql' AND detail->>'sql' = 'DELETE FROM imports'",
    );
    expect(rows).toEqual([{ outcome: "refused" }]);
  });

  it("the audit log refuses UPDATE, DELETE and TRUNCATE, even from the owner", async () => {
    await expect(pool.query("UPDATE console_audit SET username = 'someone-else'")).rejects.toThrow(/append-only/);
    await expect(pool.query("DELETE FROM console_audit")).rejects.toThrow(/append-only/);
    await expect(pool.query("TRUNCATE console_audit")).rejects.toThrow(/append-only/);
  });

  it("the read-only role cannot read logins, sessions, the signing key or the audit log", async () => {
    const ro = new pg.Client({ connectionString: Roles.urlAs(pg0.url, Roles.READONLY_ROLE, pg0.secrets.readonly) });
    await ro.connect();
    try {
      for (const t of [
        "console_users",
        "console_sessions",
        "console_secrets",
        "console_audit",
        "console_login_attempts",
      ]) {
        await expect(ro.query(`SELECT * FROM ${t}`), t).rejects.toThrow(/permission denied/);
      }
    } finally {
      await ro.end();
    }
    const c = sessions.get("analyst")!;
    const res = await c.post("/sql", { sql: "SELECT password_hash FROM console_users", _csrf: tokens.get("analyst")! });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/permission denied|may not/);
  });

  it("an export states its row cap when it cuts the answer", async () => {
    const small = await startConsole(deps(Roles.urlAs(pg0.url, Roles.READONLY_ROLE, pg0.secrets.readonly)), {
      csvRowLimit: 5,
    });
    try {
      const c = new ConsoleClient(small.url);
      await c.login("analyst1", PASSWORD);
      const res = await c.post("/sql/csv", { sql: "SELECT g FROM generate_series(1, 100) g", _csrf: await c.csrf() });
      expect(res.headers.get("content-type")).toMatch(/text\/csv/);
      const lines = (await res.text()).trimEnd().split("\n");
      expect(lines.slice(0, 6)).toEqual(["g", "1", "2", "3", "4", "5"]);
      expect(lines[6]).toMatch(/more rows exist: this export stops at its limit of 5 rows/);
    } finally {
      await small.close();
    }
  });
});
