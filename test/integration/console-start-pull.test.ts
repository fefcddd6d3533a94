/**
 * The console's force re-pull where it cannot run the puller itself (AWS): it starts the puller's function
 * through the Lambda adapter (the SDK client mocked), audits the start, and says on the page what happens next;
 * a refused invoke leaves the ledger's mark for the next scheduled run. Real PostgreSQL and a real console server.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Roles, type Pool } from "@leadpipe/core";
import { lambdaPullStarter } from "../../packages/core/src/adapters/lambda";
import { startConsole, type RunningConsole } from "../../packages/console/src/server";
import { addUser } from "../../packages/console/src/auth/store";
import { ConsoleClient } from "../support/console-client";
import { testConsoleDeps } from "../support/console-deps";
import { useDatabase, type DatabaseUse } from "../support/database";

const PASSWORD = "correct horse battery staple";
const FILE = "/outgoing/partner-b-mortgages-20261207.csv";
const FUNCTION = "leadpipe-test-Puller-partner-b-sftp-abc123";
const lambda = mockClient(LambdaClient);
let db: DatabaseUse;
let pool: Pool;
let web: RunningConsole;
let ops: ConsoleClient;

useDatabase(
  "leadpipe-console-start-pull-",
  (d) => {
    db = d;
    pool = d.pool;
  },
  180_000,
);

beforeAll(async () => {
  const { pg, tmp } = db;
  await Roles.setRolePasswords(pool, { leadpipe_readonly: pg.secrets.readonly });
  await addUser(pool, "olga", "ops", PASSWORD);
  web = await startConsole(
    testConsoleDeps(
      { pool, readonlyUrl: Roles.urlAs(pg.url, Roles.READONLY_ROLE, pg.secrets.readonly), tmp },
      {
        startPull: lambdaPullStarter(
          new LambdaClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
          { "partner-b-sftp": FUNCTION },
          { retries: 1, minTimeoutMs: 1, factor: 1 },
        ),
      },
    ),
  );
  ops = new ConsoleClient(web.url);
  expect((await ops.login("olga", PASSWORD)).status).toBe(303);
}, 180_000);

afterAll(async () => {
  await web?.close();
});

beforeEach(async () => {
  lambda.reset();
  await pool.query("DELETE FROM puller_files");
  await pool.query(
    `INSERT INTO puller_files (puller, path, size, modified_at, state, attempts, landed_at)
     VALUES ('partner-b-sftp', $1, 10, now() - interval '1 day', 'landed', 1, now() - interval '1 day')`,
    [FILE],
  );
});

async function force(): Promise<{ location: string; notice: string; audit: Record<string, unknown> }> {
  const {
    rows: [{ before }],
  } = await pool.query("SELECT coalesce(max(id), 0) AS before FROM console_audit");
  const res = await ops.post("/pulls/force", { _csrf: await ops.csrf(), puller: "partner-b-sftp", path: FILE });
  expect(res.status).toBe(303);
  const location = res.headers.get("location")!;
  const page = await (await ops.get(location)).text();
  const notice = /<p class="notice" role="status">([^<]*)<\/p>/.exec(page)?.[1] ?? "";
  // console_audit is append-only: this request's row is the newest
  const { rows } = await pool.query(
    "SELECT outcome, detail FROM console_audit WHERE action = 'pull.force' AND id > $1 ORDER BY id",
    [before],
  );
  expect(rows).toHaveLength(1);
  return { location, notice, audit: rows[0] };
}

describe("force re-pull where the console starts the puller's function", () => {
  it("marks the file, invokes the puller's function asynchronously, and says a run started", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { location, notice, audit } = await force();
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls.map((c) => [c.args[0].input.FunctionName, c.args[0].input.InvocationType])).toEqual([
      [FUNCTION, "Event"],
    ]);
    expect(location).toContain("&run=started");
    expect(notice).toContain("a run started; reload to see it land.");
    expect(audit).toEqual({
      outcome: "ok",
      detail: { puller: "partner-b-sftp", path: FILE, run: "started" },
    });
    const { rows } = await pool.query("SELECT forced FROM puller_files WHERE path = $1", [FILE]);
    expect(rows).toEqual([{ forced: true }]);
  });

  it("keeps the mark for the next scheduled run when the invoke is refused, and says so", async () => {
    lambda.on(InvokeCommand).rejects(
      Object.assign(new Error("not authorized to perform: lambda:InvokeFunction"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { location, notice, audit } = await force();
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(location).not.toContain("run=started");
    expect(notice).toContain("it lands at the puller&#39;s next run.");
    expect(audit).toEqual({
      outcome: "ok",
      detail: {
        puller: "partner-b-sftp",
        path: FILE,
        run: "next scheduled run",
        error: "not authorized to perform: lambda:InvokeFunction",
      },
    });
    const { rows } = await pool.query("SELECT forced FROM puller_files WHERE path = $1", [FILE]);
    expect(rows).toEqual([{ forced: true }]);
  });
});
