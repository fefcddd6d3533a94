import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Function as LambdaFunction, StackContext } from "sst/constructs";
import { use } from "sst/constructs";
import { toEventBridgeCron } from "../packages/core/src/pullers/spec";
import { type IntegrationSchedule, stageConfig } from "./config";
import { Database } from "./Database";
import { Pipeline } from "./Pipeline";
import { schedule, scheduledLambda, schedulerRole } from "./scheduled";

/**
 * What each external system's sync may touch beyond the database and the alert topic: RingCentral
 * lands call logs as files under inbox/<system>/ and stores refreshed OAuth tokens back in its
 * secret; Pipedrive (an API token) does neither.
 */
const NEEDS: Record<IntegrationSchedule["system"], { landsFilesUnder?: string; writesSecret: boolean }> = {
  pipedrive: { writesSecret: false },
  // the call log lands as ringcentral-calls imports; refreshed OAuth tokens go back into the secret
  ringcentral: { landsFilesUnder: "ringcentral-calls/", writesSecret: true },
};

/**
 * The tenant's CRM and telephony syncs (issue 23), one per system listed in the stage's
 * `integrations`: a Lambda (functions/sync.ts) run by EventBridge Scheduler on the incremental and
 * full-reconciliation crons in the system's time zone, and the system's connection in a Secrets
 * Manager secret (leadpipe/<stage>/integrations/<system>, its value set by the operator as the
 * system's integrations.json entry) that only that Lambda may read.
 */
export function Integrations({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const systems = config.integrations ?? [];
  if (!systems.length) return {};
  const db = use(Database);
  const { bucket, alerts } = use(Pipeline);
  const invoker = schedulerRole(
    stack,
    "SyncSchedulerRole",
    `leadpipe ${app.stage}: EventBridge Scheduler invoking the integration syncs`,
  );
  const functions: Record<string, LambdaFunction> = {};
  const secrets: Record<string, secretsmanager.Secret> = {};
  for (const s of systems) {
    const id = `Sync-${s.system}`;
    const secret = new secretsmanager.Secret(stack, `${id}Secret`, {
      secretName: `leadpipe/${app.stage}/integrations/${s.system}`,
      description: `leadpipe ${app.stage}: the ${s.system} connection (its integrations.json entry, as JSON)`,
    });
    const fn = scheduledLambda(stack, {
      id,
      handler: "functions/sync.handler",
      db,
      bucket,
      alerts,
      invoker,
      stage: app.stage,
      logRetentionDays: config.logRetentionDays,
      databaseSecretArn: db.pipelineSecret.secretArn,
      readsSecrets: [secret.secretArn],
      statements: NEEDS[s.system].writesSecret
        ? [new iam.PolicyStatement({ actions: ["secretsmanager:PutSecretValue"], resources: [secret.secretArn] })]
        : [],
      landsUnder: NEEDS[s.system].landsFilesUnder,
      environment: { SYNC_SYSTEM: s.system, INTEGRATION_SECRET_ARN: secret.secretArn },
    });
    functions[s.system] = fn;
    secrets[s.system] = secret;

    const timezone = s.timezone ?? "UTC";
    const schedules: [string, string | undefined, Record<string, unknown>][] = [
      ["Schedule", s.schedule, {}],
      ["FullSchedule", s.full_schedule, { full: true }],
    ];
    for (const [suffix, cron, input] of schedules) {
      if (!cron) continue;
      schedule(stack, `${id}${suffix}`, {
        description: `leadpipe ${app.stage}: ${s.system} sync${input.full ? " (full)" : ""} (${cron} ${timezone})`,
        expression: toEventBridgeCron(cron),
        timezone,
        fn,
        invoker,
        input,
        retryPolicy: { maximumRetryAttempts: 1, maximumEventAgeInSeconds: 900 },
      });
    }
  }
  return { functions, secrets };
}
