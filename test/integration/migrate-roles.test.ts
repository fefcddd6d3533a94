import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "../../packages/core/src/config";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";

const PIPELINE_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:leadpipe-pipeline-AbCdEf";
const READONLY_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:leadpipe-readonly-AbCdEf";
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
    Object.assign(process.env, {
      DATABASE_URL: server.url,
      PIPELINE_SECRET_ARN: PIPELINE_ARN,
      READONLY_SECRET_ARN: READONLY_ARN,
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
    await expect(login("leadpipe_readonly", "something else")).rejects.toThrow(/password authentication failed/);
    // The passwords never reach the server in clear: a SCRAM verifier is stored.
    const owner = new pg.Client({ connectionString: server.url });
    await owner.connect();
    const { rows } = await owner.query(
      "SELECT rolname, left(rolpassword, 14) AS kind FROM pg_authid WHERE rolname LIKE 'leadpipe\\_%' ORDER BY 1",
    );
    await owner.end();
    expect(rows).toEqual([
      { rolname: "leadpipe_pipeline", kind: "SCRAM-SHA-256$" },
      { rolname: "leadpipe_readonly", kind: "SCRAM-SHA-256$" },
    ]);
  }, 120_000);
});
