import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { Function as LambdaFunction, use, type StackContext } from "sst/constructs";
import { parsePullers, toEventBridgeCron } from "../packages/core/src/pullers/spec";
import { stageConfig } from "./config";
import { APP_SUBNETS, Database } from "./Database";
import { INBOX_PREFIX, Pipeline } from "./Pipeline";
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
  const invoker = new iam.Role(stack, "PullerSchedulerRole", {
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com"),
    description: `leadpipe ${app.stage}: EventBridge Scheduler invoking the puller Lambdas`,
  });
  const functions: Record<string, LambdaFunction> = {};
  for (const spec of specs) {
    const id = `Puller-${spec.name}`;
    const fn = new LambdaFunction(stack, id, {
      handler: "functions/pull.handler",
      runtime: "nodejs22.x",
      architecture: "arm_64",
      memorySize: "1024 MB",
      timeout: "15 minutes",
      tracing: "disabled",
      vpc: db.vpc,
      vpcSubnets: { subnetGroupName: APP_SUBNETS },
      securityGroups: [db.functionSecurityGroup],
      logGroup: new logs.LogGroup(stack, `${id}Logs`, { retention: config.logRetentionDays }),
      // ssh2's optional native crypto binding stays out: it falls back to pure JavaScript.
      nodejs: { sourcemap: true, esbuild: { external: ["pg-native", "cpu-features", "*.node"] } },
      environment: {
        DATABASE_SECRET_ARN: db.secret.secretArn,
        LANDING_BUCKET: bucket.bucketName,
        ALERT_TOPIC_ARN: alerts.topicArn,
        LEADPIPE_STAGE: app.stage,
        NODE_OPTIONS: "--enable-source-maps",
        PULLER_SPEC: JSON.stringify(config.pullers!.find((p) => p.name === spec.name)),
      },
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [db.secret.secretArn] }),
    );
    if (spec.secret) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["secretsmanager:GetSecretValue"],
          resources: [namedSecretArn(stack, spec.secret)],
        }),
      );
    }
    bucket.grantPut(fn, `${INBOX_PREFIX}${spec.source ? `${spec.source}/` : ""}*`);
    alerts.grantPublish(fn);
    fn.grantInvoke(invoker);
    functions[spec.name] = fn;

    const target = (input: Record<string, unknown>) => ({
      arn: fn.functionArn,
      roleArn: invoker.roleArn,
      input: JSON.stringify(input),
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
    });
    if (spec.schedule) {
      new scheduler.CfnSchedule(stack, `${id}Schedule`, {
        description: `leadpipe ${app.stage}: run puller ${spec.name} (${spec.schedule} ${spec.timezone})`,
        scheduleExpression: toEventBridgeCron(spec.schedule),
        scheduleExpressionTimezone: spec.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        target: target({}),
      });
    }
    if (spec.expected_by) {
      const [hh, mm] = spec.expected_by.split(":").map(Number) as [number, number];
      new scheduler.CfnSchedule(stack, `${id}Expected`, {
        description: `leadpipe ${app.stage}: alert when puller ${spec.name} landed nothing by ${spec.expected_by} ${spec.timezone}`,
        scheduleExpression: `cron(${mm} ${hh} * * ? *)`,
        scheduleExpressionTimezone: spec.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        target: target({ check: "expected", time: "<aws.scheduler.scheduled-time>" }),
      });
    }
  }
  return { functions };
}
