import * as iam from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction, StackContext } from "sst/constructs";
import { use } from "sst/constructs";
import { parsePullers, toEventBridgeCron } from "../packages/core/src/pullers/spec";
import { stageConfig } from "./config";
import { Database } from "./Database";
import { Pipeline } from "./Pipeline";
import { schedule, scheduledLambda, schedulerRole } from "./scheduled";
import { namedSecretArn } from "./secrets";

/**
 * The tenant's partner pullers: one Lambda per puller (functions/pull.ts, its spec in
 * PULLER_SPEC), run by EventBridge Scheduler on the puller's cron in the puller's time zone (so
 * daylight saving neither moves nor doubles a run), plus a daily schedule at `expected_by` that
 * alerts when nothing landed. Each function may read only its own secret (and the database's),
 * write only under inbox/<source>/ (inbox/ when the source comes from the file name), publish
 * alerts; egress through the VPC's NAT.
 */
export function Pullers({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const specs = parsePullers(JSON.stringify(config.pullers ?? []), "pullers").filter((s) => s.direction === "pull");
  if (!specs.length) return {};
  const db = use(Database);
  const { bucket, alerts } = use(Pipeline);
  const invoker = schedulerRole(
    stack,
    "PullerSchedulerRole",
    `leadpipe ${app.stage}: EventBridge Scheduler invoking the puller Lambdas`,
  );
  const functions: Record<string, LambdaFunction> = {};
  for (const spec of specs) {
    const id = `Puller-${spec.name}`;
    const fn = scheduledLambda(stack, {
      id,
      handler: "functions/pull.handler",
      db,
      bucket,
      alerts,
      invoker,
      stage: app.stage,
      logRetentionDays: config.logRetentionDays,
      // ssh2's optional native crypto binding stays out: it falls back to pure JavaScript.
      external: ["cpu-features", "*.node"],
      databaseSecretArn: db.secret.secretArn,
      statements: spec.secret
        ? [
            new iam.PolicyStatement({
              actions: ["secretsmanager:GetSecretValue"],
              resources: [namedSecretArn(stack, spec.secret)],
            }),
          ]
        : [],
      landsUnder: spec.source ? `${spec.source}/` : "",
      environment: { PULLER_SPEC: JSON.stringify(config.pullers!.find((p) => p.name === spec.name)) },
    });
    functions[spec.name] = fn;

    const retryPolicy = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 };
    if (spec.schedule) {
      schedule(stack, `${id}Schedule`, {
        description: `leadpipe ${app.stage}: run puller ${spec.name} (${spec.schedule} ${spec.timezone})`,
        expression: toEventBridgeCron(spec.schedule),
        timezone: spec.timezone,
        fn,
        invoker,
        input: {},
        retryPolicy,
      });
    }
    if (spec.expected_by) {
      const [hh, mm] = spec.expected_by.split(":").map(Number) as [number, number];
      schedule(stack, `${id}Expected`, {
        description: `leadpipe ${app.stage}: alert when puller ${spec.name} landed nothing by ${spec.expected_by} ${spec.timezone}`,
        expression: `cron(${mm} ${hh} * * ? *)`,
        timezone: spec.timezone,
        fn,
        invoker,
        input: { check: "expected", time: "<aws.scheduler.scheduled-time>" },
        retryPolicy,
      });
    }
  }
  return { functions };
}
