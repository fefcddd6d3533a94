import { createReadStream } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { handle } from "hono/aws-lambda";
import { z } from "zod";
import { Import, Pullers, Roles, Sources, config, createPool } from "@leadpipe/core";
import { createLambdaClient, lambdaPullStarter } from "@leadpipe/core/adapters/lambda";
import { poolConfigFromSecret } from "@leadpipe/core/adapters/secrets";
import { cognitoIdentity, createApp, type ConsoleDeps } from "@leadpipe/console";
import { executionStarter, platform } from "./platform";

/**
 * The operations console as a Lambda behind its function URL (stacks/Console.ts): the same Hono app
 * the local platform serves, its ports built from the environment; logins are the stage's Cognito user
 * pool's (COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID). Ad-hoc SQL and reports connect
 * as leadpipe_readonly with the password from READONLY_SECRET_ARN.
 */
const env = z.object({
  READONLY_SECRET_ARN: z.string().min(1, "READONLY_SECRET_ARN is not set"),
  CONSOLE_SECRET_ARN: z.string().min(1, "CONSOLE_SECRET_ARN is not set"),
  COGNITO_USER_POOL_ID: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/, "COGNITO_USER_POOL_ID is not a user pool id"),
  COGNITO_CLIENT_ID: z.string().min(1, "COGNITO_CLIENT_ID is not set"),
  /** The stage's pullers (stacks/Console.ts), for today's page. */
  CONSOLE_PULLERS: z.string().optional(),
  /** Each puller's function name (JSON, puller name → function): a forced re-pull invokes it (InvocationType Event). */
  CONSOLE_PULLER_FUNCTIONS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      try {
        return z.record(z.string(), z.string().min(1)).parse(JSON.parse(s ?? "{}"));
      } catch {
        ctx.addIssue({ code: "custom", message: "CONSOLE_PULLER_FUNCTIONS is not a JSON object of function names" });
        return z.NEVER;
      }
    }),
});

let app: Promise<ReturnType<typeof handle>> | undefined;

export const handler: ReturnType<typeof handle> = async (event, context) => (await (app ??= build()))(event, context);

async function build(): Promise<ReturnType<typeof handle>> {
  const c = config();
  const e = env.parse(process.env);
  const { READONLY_SECRET_ARN, CONSOLE_SECRET_ARN, COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, CONSOLE_PULLERS } = e;
  // The pipeline role (DATABASE_SECRET_ARN) only for the actions that change canonical data; the pages
  // and logins as leadpipe_console, ad-hoc SQL and reports as leadpipe_readonly.
  const deps = await platform();
  const [owner, ro, own] = await Promise.all(
    [c.DATABASE_SECRET_ARN!, READONLY_SECRET_ARN, CONSOLE_SECRET_ARN].map((arn) =>
      poolConfigFromSecret(arn, c.AWS_REGION),
    ),
  );
  const base = `postgres://${encodeURIComponent(String(owner!.user))}@${owner!.host}:${owner!.port}/${owner!.database}?sslmode=no-verify`;
  const readonlyUrl = Roles.urlAs(base, Roles.READONLY_ROLE, String(ro!.password));
  const bucket = deps.settings.bucket;
  const ports: ConsoleDeps = {
    ...deps,
    pool: createPool({ ...own!, statement_timeout: c.STATEMENT_TIMEOUT_MS }, 4),
    writer: deps.pool,
    readonlyUrl,
    uploadDir: "/tmp/uploads",
    pullers: CONSOLE_PULLERS ? Pullers.parsePullers(CONSOLE_PULLERS, "CONSOLE_PULLERS") : [],
    // A forced re-pull starts the puller's function at once; the run lands the file and records itself.
    ...(Object.keys(e.CONSOLE_PULLER_FUNCTIONS).length
      ? { startPull: lambdaPullStarter(createLambdaClient(c.AWS_REGION), e.CONSOLE_PULLER_FUNCTIONS) }
      : {}),
    identity: cognitoIdentity({ region: c.AWS_REGION, userPoolId: COGNITO_USER_POOL_ID, clientId: COGNITO_CLIENT_ID }),
    upload: async (file) => {
      const name = path.basename(file);
      const source = Sources.fromFileName(name)?.name ?? "unrecognized";
      const key = `inbox/${source}/${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/${name}`;
      await deps.store.write(bucket, key, createReadStream(file));
      return { key };
    },
    replay: async ({ importId, mode, requestedBy, fixedFile }) => {
      let fixedKey: string | undefined;
      if (fixedFile) {
        fixedKey = `replays/uploads/${randomUUID()}/${path.basename(fixedFile)}`;
        await deps.store.write(bucket, fixedKey, createReadStream(fixedFile));
      }
      return Import.replay(deps, executionStarter(), importId, { mode, fixedKey, requestedBy });
    },
    // The alert topic's messages are not kept; the imports whose failure was alerted are.
    alerts: async (limit) =>
      (
        await ports.pool.query<{ time: string; subject: string; message: string }>(
          `SELECT to_char(alerted_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS time, 'import FAILED: ' || file_name AS subject,
              coalesce(status_reason, '') AS message
         FROM imports WHERE alerted_at IS NOT NULL ORDER BY alerted_at DESC LIMIT $1`,
          [limit],
        )
      ).rows,
  };
  return handle(createApp(ports, { secureCookies: true }));
}
