import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "@leadpipe/core";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

const PIPELINE_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:leadpipe-pipeline-AbCdEf";
const READONLY_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:leadpipe-readonly-AbCdEf";
const CONSOLE_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:leadpipe-console-AbCdEf";
const secrets = mockClient(SecretsManagerClient);
let server: RunningPostgres;
let tmp: string;
const saved = { ...process.env };

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-migrate-"));
  chmodSync(tmp, 0o755);
  server = await startPostgres(path.join(tmp, "pg"));
}, 120_000);

afterAll(async () => {
  const { resetPlatform } = await import("../../functions/platform");
  await resetPlatform();
  process.env = saved;
  resetConfig();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const login = async (user: string, password: string) => {
  const u = new URL(server.url);
  const c = new pg.Client({ host: u.hostname, port: Number(u.port), database: "postgres", user, password });
  await c.connect();
  const { rows } = await c.query("SELECT current_user AS u");
  await c.end();
  return rows[0].u as string;
};

describe("the migrate Lambda", () => {
  it("applies the migrations as the owner, then sets the roles' passwords from their secrets", async () => {
    // The generated secrets' JSON, as rds.DatabaseSecret attached to the cluster writes it.
    secrets.on(GetSecretValueCommand, { SecretId: PIPELINE_ARN }).resolves({
      SecretString: JSON.stringify({ username: "leadpipe_pipeline", password: "pipeline-from-the-secret" }),
    });
    secrets.on(GetSecretValueCommand, { SecretId: READONLY_ARN }).resolves({
      SecretString: JSON.stringify({ username: "leadpipe_readonly", password: "readonly-from-the-secret" }),
    });
    secrets.on(GetSecretValueCommand, { SecretId: CONSOLE_ARN }).resolves({
      SecretString: JSON.stringify({ username: "leadpipe_console", password: "console-from-the-secret" }),
    });
    Object.assign(process.env, {
      DATABASE_URL: server.url,
      PIPELINE_SECRET_ARN: PIPELINE_ARN,
      READONLY_SECRET_ARN: READONLY_ARN,
      CONSOLE_SECRET_ARN: CONSOLE_ARN,
      LANDING_BUCKET: "landing",
      ALERT_TOPIC_ARN: "arn:aws:sns:us-east-1:000000000000:alerts",
      LOG_LEVEL: "error",
    });
    resetConfig();
    const { handler } = await import("../../functions/migrate");
    const r = (await handler({}, {} as never)) as { applied: string[] };
    expect(r.applied).toContain("070_roles");
    expect(await login("leadpipe_pipeline", "pipeline-from-the-secret")).toBe("leadpipe_pipeline");
    expect(await login("leadpipe_readonly", "readonly-from-the-secret")).toBe("leadpipe_readonly");
    expect(await login("leadpipe_console", "console-from-the-secret")).toBe("leadpipe_console");
    await expect(login("leadpipe_readonly", "something else")).rejects.toThrow(/password authentication failed/);
    // The passwords never reach the server in clear: a SCRAM verifier is stored.
    const owner = new pg.Client({ connectionString: server.url });
    await owner.connect();
    const { rows } = await owner.query(
      "SELECT rolname, left(rolpassword, 14) AS kind FROM pg_authid WHERE rolname LIKE 'leadpipe\\_%' ORDER BY 1",
    );
    await owner.end();
    expect(rows).toEqual([
      { rolname: "leadpipe_console", kind: "SCRAM-SHA-256$" },
      { rolname: "leadpipe_pipeline", kind: "SCRAM-SHA-256$" },
      { rolname: "leadpipe_readonly", kind: "SCRAM-SHA-256$" },
    ]);
  }, 120_000);
});

describe("leadpipe_console (migration 191)", () => {
  /** Runs one statement as the console role, in a transaction rolled back: the SQLSTATE, or "ok". */
  const asConsole = async (sql: string): Promise<string> => {
    const u = new URL(server.url);
    const c = new pg.Client({
      host: u.hostname,
      port: Number(u.port),
      database: "postgres",
      user: "leadpipe_console",
      password: "console-from-the-secret",
    });
    await c.connect();
    try {
      await c.query("BEGIN");
      await c.query(sql);
      return "ok";
    } catch (err) {
      return (err as { code?: string }).code ?? (err as Error).message;
    } finally {
      await c.query("ROLLBACK").catch(() => undefined);
      await c.end();
    }
  };

  it("writes the console's own rows: users, sessions, login attempts, the signing key, the audit log", async () => {
    expect(
      await asConsole(
        "INSERT INTO console_users (username, role, provider) VALUES ('ana', 'analyst', 'cognito') " +
          "ON CONFLICT (username) DO UPDATE SET role = excluded.role",
      ),
    ).toBe("ok");
    expect(await asConsole("INSERT INTO console_login_attempts (username, ip, ok) VALUES ('ana', '::1', false)")).toBe(
      "ok",
    );
    expect(
      await asConsole("INSERT INTO console_secrets (name, value) VALUES ('x', '\\x00') ON CONFLICT DO NOTHING"),
    ).toBe("ok");
    expect(await asConsole("INSERT INTO console_audit (username, action, outcome) VALUES ('ana', 'login', 'ok')")).toBe(
      "ok",
    );
    expect(await asConsole("UPDATE console_sessions SET ended_at = now() WHERE username = 'ana'")).toBe("ok");
    expect(await asConsole("SELECT count(*) FROM imports, mortgages, persons, console_secrets")).toBe("ok");
  });

  it("cannot write an import, canonical, people or compliance table, rewrite the audit log, or create anything", async () => {
    const refused = {
      "INSERT INTO imports (id) VALUES (gen_random_uuid())": "42501",
      "UPDATE mortgages SET partner = partner": "42501",
      "DELETE FROM mail_pieces": "42501",
      "DELETE FROM persons": "42501",
      "UPDATE person_links SET score = 0": "42501",
      "TRUNCATE opt_outs": "42501",
      "INSERT INTO leads DEFAULT VALUES": "42501",
      "DELETE FROM console_audit": "42501",
      "UPDATE console_audit SET outcome = 'ok'": "42501",
      "DELETE FROM console_users": "42501",
      "CREATE TABLE mine (x int)": "42501",
      "REFRESH MATERIALIZED VIEW report_imports_by_day": "42501",
    };
    const got: Record<string, string> = {};
    for (const sql of Object.keys(refused)) got[sql] = await asConsole(sql);
    expect(got).toEqual(refused);
  });
});
