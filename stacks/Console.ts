import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as LambdaFunction, use, type StackContext } from "sst/constructs";
import { stageConfig } from "./config";
import { APP_SUBNETS, Database } from "./Database";
import { AUDIENCES_OUTBOX_PREFIX, INBOX_PREFIX, Pipeline } from "./Pipeline";

/** The reports an import writes (packages/core/src/imports/reports.ts, reportsPrefix). */
const REPORTS_PREFIX = "reports/";
const REPLAY_UPLOADS_PREFIX = "replays/";

/**
 * The operations console of a tenant: the Hono app (functions/console.ts) in a Lambda in the VPC's
 * app subnets, reached through a function URL that only signed (IAM) requests pass, with the app's own
 * login behind it. Its IAM is what its pages need: the two database secrets (owner, read-only role), the
 * reports and landing files it reads, the inbox, replay uploads and audience outbox it writes, and
 * StartExecution of the ingest state machine (replays).
 */
export function Console({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const db = use(Database);
  const pipeline = use(Pipeline);
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // The pipeline role for the console's own tables and actions, the read-only role for reports and
  // the SQL window: the database stack's secrets, whose passwords the migrate function sets.
  const readonlySecret = db.readonlySecret;

  const web = new LambdaFunction(stack, "ConsoleApp", {
    handler: "functions/console.handler",
    runtime: "nodejs22.x",
    architecture: "arm_64",
    memorySize: "1024 MB",
    timeout: "30 seconds",
    tracing: "disabled",
    vpc: db.vpc,
    vpcSubnets: { subnetGroupName: APP_SUBNETS },
    securityGroups: [db.functionSecurityGroup],
    logGroup: new logs.LogGroup(stack, "ConsoleAppLogs", { retention: config.logRetentionDays, removalPolicy }),
    nodejs: { sourcemap: true, esbuild: { external: ["pg-native"] } },
    copyFiles: [{ from: "packages/console/assets", to: "packages/console/assets" }],
    url: { authorizer: "iam", cors: false },
    environment: {
      DATABASE_SECRET_ARN: db.pipelineSecret.secretArn,
      READONLY_SECRET_ARN: readonlySecret.secretArn,
      LANDING_BUCKET: pipeline.bucket.bucketName,
      STATE_MACHINE_ARN: pipeline.ingest.stateMachineArn,
      LEADPIPE_STAGE: app.stage,
      NODE_OPTIONS: "--enable-source-maps",
      CONSOLE_ASSETS_DIR: "/var/task/packages/console/assets",
    },
  });
  web.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:GetSecretValue"],
      resources: [db.pipelineSecret.secretArn, readonlySecret.secretArn],
    }),
  );
  pipeline.bucket.grantRead(web, `${REPORTS_PREFIX}*`);
  pipeline.bucket.grantRead(web, `${INBOX_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${INBOX_PREFIX}*`);
  pipeline.bucket.grantRead(web, `${REPLAY_UPLOADS_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${REPLAY_UPLOADS_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${AUDIENCES_OUTBOX_PREFIX}*`);
  pipeline.ingest.grantStartExecution(web);
  web.node.addDependency(pipeline.migrate);

  stack.addOutputs({ ConsoleUrl: web.url!, ReadonlySecretArn: readonlySecret.secretArn });
  return { web, readonlySecret };
}
