import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Function as LambdaFunction, type Stack } from "sst/constructs";
import type { LogRetentionDays } from "./config";
import { APP_SUBNETS, type Database } from "./Database";
import { INBOX_PREFIX } from "./Pipeline";

/**
 * The shape the pullers' and the integrations' Lambdas share (stacks/Pullers.ts,
 * stacks/Integrations.ts): one function per puller or system, in the app subnets, reading the
 * database's secret, landing files under one inbox/ prefix at most, publishing alerts, and invoked
 * only by the stack's EventBridge Scheduler role.
 */
export interface ScheduledLambda {
  /** The construct id; the log group is `${id}Logs`. */
  id: string;
  handler: string;
  db: ReturnType<typeof Database>;
  bucket: s3.IBucket;
  alerts: sns.ITopic;
  invoker: iam.IRole;
  stage: string;
  logRetentionDays: LogRetentionDays;
  /** Bundled out besides pg-native. */
  external?: string[];
  /** The database login the function reads (first in its GetSecretValue statement). */
  databaseSecretArn: string;
  /** Other secrets it reads, in the same statement. */
  readsSecrets?: string[];
  /** Statements of its own, added after the secrets it reads. */
  statements?: iam.PolicyStatement[];
  /** The prefix under inbox/ it may put objects in ("" for all of inbox/), or none. */
  landsUnder?: string;
  environment: Record<string, string>;
}

export function scheduledLambda(stack: Stack, o: ScheduledLambda): LambdaFunction {
  const fn = new LambdaFunction(stack, o.id, {
    handler: o.handler,
    runtime: "nodejs22.x",
    architecture: "arm_64",
    memorySize: "1024 MB",
    timeout: "15 minutes",
    tracing: "disabled",
    vpc: o.db.vpc,
    vpcSubnets: { subnetGroupName: APP_SUBNETS },
    securityGroups: [o.db.functionSecurityGroup],
    logGroup: new logs.LogGroup(stack, `${o.id}Logs`, { retention: o.logRetentionDays }),
    nodejs: { sourcemap: true, esbuild: { external: ["pg-native", ...(o.external ?? [])] } },
    environment: {
      DATABASE_SECRET_ARN: o.databaseSecretArn,
      LANDING_BUCKET: o.bucket.bucketName,
      ALERT_TOPIC_ARN: o.alerts.topicArn,
      LEADPIPE_STAGE: o.stage,
      NODE_OPTIONS: "--enable-source-maps",
      ...o.environment,
    },
  });
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:GetSecretValue"],
      resources: [o.databaseSecretArn, ...(o.readsSecrets ?? [])],
    }),
  );
  for (const statement of o.statements ?? []) fn.addToRolePolicy(statement);
  if (o.landsUnder !== undefined) o.bucket.grantPut(fn, `${INBOX_PREFIX}${o.landsUnder}*`);
  o.alerts.grantPublish(fn);
  fn.grantInvoke(o.invoker);
  return fn;
}

/** The role EventBridge Scheduler assumes to invoke a stack's scheduled Lambdas. */
export function schedulerRole(stack: Stack, id: string, description: string): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com"), description });
}

/** One EventBridge Scheduler schedule invoking `fn` with `input`, in `timezone`, never flexible. */
export function schedule(
  stack: Stack,
  id: string,
  o: {
    description: string;
    expression: string;
    timezone: string;
    fn: LambdaFunction;
    invoker: iam.IRole;
    input: Record<string, unknown>;
    retryPolicy: { maximumRetryAttempts: number; maximumEventAgeInSeconds: number };
  },
): scheduler.CfnSchedule {
  return new scheduler.CfnSchedule(stack, id, {
    description: o.description,
    scheduleExpression: o.expression,
    scheduleExpressionTimezone: o.timezone,
    flexibleTimeWindow: { mode: "OFF" },
    target: {
      arn: o.fn.functionArn,
      roleArn: o.invoker.roleArn,
      input: JSON.stringify(o.input),
      retryPolicy: o.retryPolicy,
    },
  });
}
