/**
 * The console behind a Cognito user pool (AWS): tokens verified with aws-jwt-verify against the pool's
 * JWKS (a local HTTPS server, tokens signed in the test), groups mapped to roles, logins through
 * InitiateAuth (a local stand-in of the endpoint), and the console's sessions on top.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Roles, createPool, migrate, type Pool } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { startConsole, type RunningConsole } from "../../packages/console/src/server";
import { cognitoIdentity } from "../../packages/console/src/adapters/cognito";
import { roleFromGroups } from "../../packages/console/src/auth/identity";
import { ConsoleClient } from "../support/console-client";
import { testConsoleDeps } from "../support/console-deps";
import { startLocalCognito, type LocalCognito } from "../support/local-cognito";

let cognito: LocalCognito;
let identity: ReturnType<typeof cognitoIdentity>;
let pg0: RunningPostgres;
let pool: Pool;
let consolePool: Pool;
let tmp: string;
let web: RunningConsole;
const PASSWORD = "Correct-Horse-Battery-9";

beforeAll(async () => {
  cognito = await startLocalCognito({
    ana: { password: PASSWORD, groups: ["analyst"] },
    olga: { password: PASSWORD, groups: ["analyst", "ops"] },
    nobody: { password: PASSWORD, groups: ["some-other-app"] },
  });
  identity = cognitoIdentity({
    region: "us-east-1",
    userPoolId: cognito.userPoolId,
    clientId: cognito.clientId,
    issuer: cognito.issuer,
    jwksRequestOptions: { ca: cognito.ca },
    endpoint: cognito.endpoint,
  });
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-console-cognito-"));
  pg0 = await startPostgres(path.join(tmp, "home", "pg"));
  pool = createPool(pg0.url, 4);
  await migrate(pool);
  await Roles.setRolePasswords(pool, {
    leadpipe_readonly: pg0.secrets.readonly,
    leadpipe_console: pg0.secrets.console,
  });
  // The console logs in as its own role, as in AWS: logins, sessions and the audit log need nothing more.
  consolePool = createPool(Roles.urlAs(pg0.url, Roles.CONSOLE_ROLE, pg0.secrets.console), 4);
  const deps = testConsoleDeps(
    { pool: consolePool, readonlyUrl: Roles.urlAs(pg0.url, Roles.READONLY_ROLE, pg0.secrets.readonly), tmp },
    { identity },
  );
  web = await startConsole(deps, { maxFailures: 3, failureWindowMs: 60_000 });
}, 180_000);

afterAll(async () => {
  await web?.close();
  await consolePool?.end();
  await pool?.end();
  await pg0?.stop();
  await cognito?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("Cognito tokens (aws-jwt-verify, the pool's JWKS)", () => {
  it("accepts the pool's ID and access tokens for this client and maps the groups to a role", async () => {
    expect(await identity.verify(cognito.token("id", "ana", ["analyst"]))).toEqual({
      username: "ana",
      role: "analyst",
    });
    expect(await identity.verify(cognito.token("access", "olga", ["analyst", "ops"]))).toEqual({
      username: "olga",
      role: "ops",
    });
    expect(await identity.verify(cognito.token("id", "Root", ["marketer", "admin"]))).toEqual({
      username: "root",
      role: "admin",
    });
    // The keys were fetched once over HTTPS and are cached for every later token.
    expect(cognito.jwksRequests).toBe(1);
  });

  it("refuses an expired token, a wrong audience or client, a wrong issuer, a forged signature, no role group", async () => {
    const now = Math.floor(Date.now() / 1000);
    const refused = {
      expired: cognito.token("id", "ana", ["analyst"], { iat: now - 7200, exp: now - 60 }),
      "wrong audience": cognito.token("id", "ana", ["analyst"], { aud: "another-client" }),
      "wrong client (access token)": cognito.token("access", "ana", ["analyst"], { client_id: "another-client" }),
      "wrong issuer": cognito.token("id", "ana", ["analyst"], {
        iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Another",
      }),
      "not a Cognito token": cognito.token("id", "ana", ["analyst"], { token_use: undefined }),
      forged: cognito.forged("id", "ana", ["analyst"]),
      "no role group": cognito.token("id", "ana", ["some-other-app"]),
      "no groups": cognito.token("access", "ana", [], { "cognito:groups": undefined }),
      garbage: "not.a.jwt",
    };
    for (const [why, token] of Object.entries(refused)) expect(await identity.verify(token), why).toBeUndefined();
  });

  it("maps groups by precedence admin, ops, steward, marketer, analyst and ignores others", () => {
    expect(roleFromGroups(["analyst", "steward"])).toBe("steward");
    expect(roleFromGroups(["marketer", "analyst"])).toBe("marketer");
    expect(roleFromGroups(["Admin"])).toBeUndefined();
    expect(roleFromGroups("admin")).toBeUndefined();
  });
});

describe("the console with Cognito logins", () => {
  it("logs in through the form with the pool's password and records the user with its group's role", async () => {
    const c = new ConsoleClient(web.url);
    const res = await c.login("ana", PASSWORD);
    expect(res.status).toBe(303);
    expect((await c.get("/")).status).toBe(200);
    const { rows } = await pool.query(
      "SELECT username, role, provider, password_hash FROM console_users WHERE username = 'ana'",
    );
    expect(rows).toEqual([{ username: "ana", role: "analyst", provider: "cognito", password_hash: null }]);
    const audit = await pool.query(
      "SELECT outcome, detail FROM console_audit WHERE username = 'ana' AND action = 'login' ORDER BY id",
    );
    expect(audit.rows).toEqual([{ outcome: "ok", detail: { provider: "cognito" } }]);
    // The role follows the groups: an analyst may not unmerge.
    const refused = await c.post("/people/unmerge", { _csrf: await c.csrf(), merge_id: "1" });
    expect(refused.status).toBe(403);
  });

  it("refuses a wrong password, an unknown user and a user in no console group, and rate-limits failures", async () => {
    const wrong = await new ConsoleClient(web.url).login("olga", "Wrong-Password-1");
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong user name or password.");
    expect((await new ConsoleClient(web.url).login("ghost", PASSWORD)).status).toBe(401);
    const noRole = await new ConsoleClient(web.url).login("nobody", PASSWORD);
    expect(noRole.status).toBe(401);
    expect(await noRole.text()).toContain("none of the console&#39;s groups");
    for (let i = 0; i < 2; i++) await new ConsoleClient(web.url).login("olga", "Wrong-Password-1");
    const limited = await new ConsoleClient(web.url).login("olga", PASSWORD);
    expect(limited.status).toBe(429);
  });

  it("serves a bearer Cognito token without a cookie or CSRF token, and nothing for an expired one", async () => {
    const token = cognito.token("access", "steve", ["steward"]);
    const ok = await fetch(`${web.url}/imports`, { headers: { authorization: `Bearer ${token}` }, redirect: "manual" });
    expect(ok.status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const expired = cognito.token("access", "steve", ["steward"], { iat: now - 7200, exp: now - 1 });
    const gone = await fetch(`${web.url}/imports`, {
      headers: { authorization: `Bearer ${expired}` },
      redirect: "manual",
    });
    expect(gone.status).toBe(302);
    expect(gone.headers.get("location")).toMatch(/^\/login/);
  });

  it("gives the CLI a console session token for the pool's password (POST /api/login)", async () => {
    const res = await fetch(`${web.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "ana", password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; role: string; username: string };
    expect(body).toMatchObject({ username: "ana", role: "analyst" });
    const page = await fetch(`${web.url}/sql`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(page.status).toBe(200);
  });
});
