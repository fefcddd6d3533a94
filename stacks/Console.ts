import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as LambdaFunction, use, type StackContext } from "sst/constructs";
import { stageConfig } from "./config";
import { APP_SUBNETS, Database } from "./Database";
import { AUDIENCES_OUTBOX_PREFIX, INBOX_PREFIX, Pipeline } from "./Pipeline";
import { Pullers } from "./Pullers";
import { ROLE_PRECEDENCE } from "../packages/console/src/auth/identity";

/** The reports an import writes (packages/core/src/imports/reports.ts, reportsPrefix). */
const REPORTS_PREFIX = "reports/";
const REPLAY_UPLOADS_PREFIX = "replays/";

/**
 * The operations console of a tenant: the Hono app (functions/console.ts) in a Lambda in the VPC's
 * app subnets, reached through its function URL. Nothing but the login page and its assets is served
 * without a login, and logins are the stage's Cognito user pool's: one group per console role, users
 * created by an admin (no sign-up). The app checks passwords through InitiateAuth and verifies the
 * pool's tokens itself (aws-jwt-verify against the pool's JWKS), so the URL admits unsigned requests:
 * a browser cannot sign them with IAM. Its IAM is what its pages need: the two database secrets
 * (console, pipeline, read-only role), the reports and landing files it reads, the inbox, replay uploads and
 * audience outbox it writes, StartExecution of the ingest state machine (replays), and InvokeFunction of
 * the stage's puller functions (a forced re-pull starts the puller at once). Cognito's InitiateAuth and
 * JWKS need no IAM at all. The Pullers stack comes first (stacks/index.ts) and uses nothing of this one.
 */
export function Console({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const pulls = (config.pullers ?? []).filter((p) => p.direction !== "push");
  const db = use(Database);
  const pipeline = use(Pipeline);
  // The puller functions, by puller name (the Pullers stack exists only for a tenant with pullers).
  const pullerFunctions = pulls.length ? (use(Pullers).functions ?? {}) : {};
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // The console role for its pages, logins and audit log (migration 191), the pipeline role only for the
  // actions that change canonical data, the read-only role for reports and the SQL window: the database
  // stack's secrets, whose passwords the migrate function sets.
  const readonlySecret = db.readonlySecret;

  const userPool = new cognito.UserPool(stack, "ConsoleUsers", {
    userPoolName: `leadpipe-${app.stage}-console`,
    selfSignUpEnabled: false,
    signInAliases: { username: true },
    signInCaseSensitive: false,
    passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true },
    // Admins reset passwords (admin-set-user-password): no e-mail or SMS path to take over an account.
    accountRecovery: cognito.AccountRecovery.NONE,
    mfa: cognito.Mfa.OFF,
    deletionProtection: config.retainData,
    removalPolicy,
  });
  ROLE_PRECEDENCE.forEach((role, precedence) => {
    new cognito.CfnUserPoolGroup(stack, `ConsoleGroup-${role}`, {
      userPoolId: userPool.userPoolId,
      groupName: role,
      precedence,
      description: `leadpipe console role ${role}`,
    });
  });
  const client = userPool.addClient("ConsoleClient", {
    userPoolClientName: "console",
    generateSecret: false,
    authFlows: { userPassword: true },
    disableOAuth: true,
    preventUserExistenceErrors: true,
    idTokenValidity: Duration.hours(1),
    accessTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.hours(12),
    enableTokenRevocation: true,
  });

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
    // The app is the gate (a browser cannot sign requests): every route but /login and its assets needs a login.
    url: { authorizer: "none", cors: false },
    environment: {
      DATABASE_SECRET_ARN: db.pipelineSecret.secretArn,
      READONLY_SECRET_ARN: readonlySecret.secretArn,
      CONSOLE_SECRET_ARN: db.consoleSecret.secretArn,
      LANDING_BUCKET: pipeline.bucket.bucketName,
      STATE_MACHINE_ARN: pipeline.ingest.stateMachineArn,
      LEADPIPE_STAGE: app.stage,
      COGNITO_USER_POOL_ID: userPool.userPoolId,
      COGNITO_CLIENT_ID: client.userPoolClientId,
      NODE_OPTIONS: "--enable-source-maps",
      CONSOLE_ASSETS_DIR: "/var/task/packages/console/assets",
      // Today's pullers (last runs, files expected but missing): the stage's pull entries, secret names only.
      ...(pulls.length ? { CONSOLE_PULLERS: JSON.stringify(pulls) } : {}),
      // A forced re-pull invokes the puller's function (InvocationType Event): puller name → function name.
      ...(Object.keys(pullerFunctions).length
        ? {
            CONSOLE_PULLER_FUNCTIONS: stack.toJsonString(
              Object.fromEntries(Object.entries(pullerFunctions).map(([name, fn]) => [name, fn.functionName])),
            ),
          }
        : {}),
    },
  });
  web.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:GetSecretValue"],
      resources: [db.pipelineSecret.secretArn, readonlySecret.secretArn, db.consoleSecret.secretArn],
    }),
  );
  pipeline.bucket.grantRead(web, `${REPORTS_PREFIX}*`);
  pipeline.bucket.grantRead(web, `${INBOX_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${INBOX_PREFIX}*`);
  pipeline.bucket.grantRead(web, `${REPLAY_UPLOADS_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${REPLAY_UPLOADS_PREFIX}*`);
  pipeline.bucket.grantPut(web, `${AUDIENCES_OUTBOX_PREFIX}*`);
  pipeline.ingest.grantStartExecution(web);
  // Exactly the puller functions, by ARN (grantInvoke would add every version and alias, `<arn>:*`).
  if (Object.keys(pullerFunctions).length)
    web.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: Object.values(pullerFunctions).map((fn) => fn.functionArn),
      }),
    );
  web.node.addDependency(pipeline.migrate);

  stack.addOutputs({
    ConsoleUrl: web.url!,
    ReadonlySecretArn: readonlySecret.secretArn,
    ConsoleUserPoolId: userPool.userPoolId,
    ConsoleClientId: client.userPoolClientId,
  });
  return { web, readonlySecret, userPool, client };
}
