import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ArnFormat, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { SnsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import { LambdaDestination } from "aws-cdk-lib/aws-s3-notifications";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Function as LambdaFunction, Script, use, type FunctionProps, type StackContext } from "sst/constructs";
import { useProject } from "sst/project.js";
import { parsePullers } from "../packages/core/src/pullers/spec";
import { stageConfig } from "./config";
import { namedSecretArn } from "./secrets";
import { APP_SUBNETS, Database } from "./Database";
import { ingestDefinition } from "./ingest-definition";
import peopleAsl from "./people.asl.json";
import { legacyMigration } from "./LegacyMigration";

/** Where landed files arrive; only objects under it start an import. */
export const INBOX_PREFIX = "inbox/";

/** Where the Stage task writes chunk objects (packages/core/src/imports/stage.ts, chunkKey). */
export const STAGING_PREFIX = "staging/";

/** Where an import's reports go (packages/core/src/imports/reports.ts, reportsPrefix). */
export const REPORTS_PREFIX = "reports/";

/** Where replays write the rows they re-ingest and `leadpipe replay --fixed` its corrected file (imports/replay.ts). */
export const REPLAYS_PREFIX = "replays/";

/** Where the daily lead hand-off files go (packages/core/src/leads/handoff.ts, handoffKey). */
export const LEADS_OUTBOX_PREFIX = "outbox/leads/";

/** Where published audiences and their reconciliations go (packages/core/src/audiences/publish.ts, audienceKeys). */
export const AUDIENCES_OUTBOX_PREFIX = "outbox/audiences/";

/** Where the migrate Lambda finds the SQL files copied into its bundle. */
const LAMBDA_SQL_DIR = "/var/task/sql";

/**
 * Sizing per handler. Stage (splits a whole file into chunk objects) and process-chunk (parse,
 * validate, COPY and upsert one chunk) do the heavy lifting; the others are short calls.
 */
const SIZING = {
  trigger: { memorySize: "512 MB", timeout: "1 minute" },
  validate: { memorySize: "1024 MB", timeout: "2 minutes" },
  checksum: { memorySize: "1024 MB", timeout: "15 minutes" },
  stage: { memorySize: "3008 MB", timeout: "15 minutes" },
  resume: { memorySize: "512 MB", timeout: "2 minutes" },
  processChunk: { memorySize: "2048 MB", timeout: "15 minutes" },
  finalize: { memorySize: "1024 MB", timeout: "15 minutes" },
  resolvePeople: { memorySize: "2048 MB", timeout: "15 minutes" },
  markFailed: { memorySize: "512 MB", timeout: "1 minute" },
  refreshViews: { memorySize: "512 MB", timeout: "15 minutes" },
  leadHandoff: { memorySize: "512 MB", timeout: "5 minutes" },
  // Streams the audience through a cursor: memory stays flat; millions of customers take minutes.
  publishAudience: { memorySize: "1024 MB", timeout: "15 minutes" },
  replay: { memorySize: "1024 MB", timeout: "15 minutes" },
  // Describes executions and starts a few; a failing import's reports are written by markFailed.
  recoverImports: { memorySize: "1024 MB", timeout: "15 minutes" },
  migrate: { memorySize: "512 MB", timeout: "15 minutes" },
  // The legacy migration (stacks/LegacyMigration.ts): landing a range holds its rows (50 000 by default).
  legacyOpen: { memorySize: "512 MB", timeout: "5 minutes" },
  legacyPlan: { memorySize: "1024 MB", timeout: "15 minutes" },
  legacyLandRange: { memorySize: "2048 MB", timeout: "15 minutes" },
  legacyProgress: { memorySize: "512 MB", timeout: "1 minute" },
  // Reconciling reads one range again (its rows and what landed of them); the sum reads the stored checks,
  // then moves every legacy touchpoint whose person was resolved since (one update over the table).
  legacyReconcilePlan: { memorySize: "512 MB", timeout: "5 minutes" },
  legacyReconcileRange: { memorySize: "2048 MB", timeout: "15 minutes" },
  legacyReconcile: { memorySize: "1024 MB", timeout: "15 minutes" },
  legacyFailed: { memorySize: "512 MB", timeout: "1 minute" },
} satisfies Record<string, Pick<FunctionProps, "memorySize" | "timeout">>;

/** Objects an import reads: landed files (inbox/) and the files replays write (replays/). */
const LANDED = [INBOX_PREFIX, REPLAYS_PREFIX];

/**
 * The landing-bucket prefixes each handler reads and writes, worked out from packages/core (the
 * ObjectStore calls of its use cases). A handler gets exactly these, and no delete anywhere (no use
 * case deletes an object; expiry is the bucket's lifecycle). test/infra/stacks.test.ts holds the same table.
 */
export const S3_ACCESS = {
  // Validate: head and sniff the landed object.
  validate: { read: LANDED, write: [] },
  // Checksum: hash the landed object; a DUPLICATE ends here with its reports.
  checksum: { read: LANDED, write: [REPORTS_PREFIX] },
  // Stage: read the landed object, write chunk objects for the files it rewrites.
  stage: { read: LANDED, write: [STAGING_PREFIX] },
  // ProcessChunk: a chunk object, or a byte range of the landed object.
  processChunk: { read: [...LANDED, STAGING_PREFIX], write: [] },
  finalize: { read: [], write: [REPORTS_PREFIX] },
  markFailed: { read: [], write: [REPORTS_PREFIX] },
  // Replay: the original's landed object and chunks, a corrected file; writes the rows to replay.
  replay: { read: [...LANDED, STAGING_PREFIX], write: [REPLAYS_PREFIX, REPORTS_PREFIX] },
  /** Checks that the chunk objects (or the landed object) its pending chunks read are there. */
  resume: { read: [...LANDED, STAGING_PREFIX], write: [] },
  /** Ends an unrecoverable import FAILED with its reports. */
  recoverImports: { read: [...LANDED, STAGING_PREFIX], write: [REPORTS_PREFIX] },
  leadHandoff: { read: [], write: [LEADS_OUTBOX_PREFIX] },
  publishAudience: { read: [], write: [AUDIENCES_OUTBOX_PREFIX] },
} satisfies Partial<Record<keyof typeof SIZING, { read: readonly string[]; write: readonly string[] }>>;

/**
 * The pipeline of a tenant: the landing bucket, the Lambdas, the ingest state machine, the
 * schedules and the alert path. Everything here can be redeployed freely; the data lives in
 * the Database stack (and in the landing bucket, which is retained on production stages).
 */
export function Pipeline({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const db = use(Database);
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // Landing bucket: inbox/ (partner files), reports and outbox prefixes in the same bucket.
  const bucket = new s3.Bucket(stack, "Landing", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: config.retainData,
    lifecycleRules: [
      // Chunk objects are intermediates of one execution (see chunkKey in packages/core).
      { id: "ExpireStagedChunks", prefix: STAGING_PREFIX, expiration: Duration.days(config.stagedChunkDays) },
      { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ...(config.retainData ? [{ id: "ExpireOldVersions", noncurrentVersionExpiration: Duration.days(90) }] : []),
    ],
    removalPolicy,
    autoDeleteObjects: !config.retainData,
  });

  const alerts = new sns.Topic(stack, "Alerts", { displayName: `leadpipe ${app.stage} alerts` });
  for (const email of config.alerts.emails) alerts.addSubscription(new subscriptions.EmailSubscription(email));

  /** Each handler's rights in the landing bucket: its prefixes from S3_ACCESS, nothing else. */
  const grantS3 = (fn: LambdaFunction, access: (typeof S3_ACCESS)[keyof typeof S3_ACCESS]) => {
    for (const prefix of access.read) bucket.grantRead(fn, `${prefix}*`);
    for (const prefix of access.write) bucket.grantPut(fn, `${prefix}*`);
  };

  const environment: Record<string, string> = {
    // The pipeline role's login, not the master user's (which only the migrate function reads).
    DATABASE_SECRET_ARN: db.pipelineSecret.secretArn,
    LANDING_BUCKET: bucket.bucketName,
    ALERT_TOPIC_ARN: alerts.topicArn,
    LEADPIPE_STAGE: app.stage,
    CHUNK_ROWS: String(config.ingest.chunkRows),
    NODE_OPTIONS: "--enable-source-maps",
  };

  /** A handler from functions/, in the VPC's app subnets, allowed to read its database secret(s) (the pipeline role's by default). */
  const handler = (
    id: string,
    file: string,
    sizing: Pick<FunctionProps, "memorySize" | "timeout">,
    extra: FunctionProps = {},
    secrets: secretsmanager.ISecret[] = [db.pipelineSecret],
  ) => {
    const fn = new LambdaFunction(stack, id, {
      handler: `functions/${file}.handler`,
      runtime: "nodejs22.x",
      architecture: "arm_64",
      ...sizing,
      // Active tracing would add an X-Ray statement on Resource "*"; traces are not used yet.
      tracing: "disabled",
      vpc: db.vpc,
      vpcSubnets: { subnetGroupName: APP_SUBNETS },
      securityGroups: [db.functionSecurityGroup],
      logGroup: new logs.LogGroup(stack, `${id}Logs`, { retention: config.logRetentionDays, removalPolicy }),
      nodejs: {
        // Keep the source map in the bundle (NODE_OPTIONS=--enable-source-maps uses it).
        sourcemap: true,
        // pg's optional native binding: never installed, never bundled.
        esbuild: { external: ["pg-native"] },
      },
      ...extra,
      environment: { ...environment, ...extra.environment },
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: secrets.map((x) => x.secretArn),
      }),
    );
    return fn;
  };

  // Schema first: every deploy applies the migrations before the new handler code goes live.
  const migrate = handler(
    "Migrate",
    "migrate",
    SIZING.migrate,
    {
      enableLiveDev: false,
      copyFiles: [{ from: "sql", to: "sql" }],
      // The master user runs the migrations, then sets the roles' passwords from their secrets.
      environment: {
        SQL_DIR: LAMBDA_SQL_DIR,
        DATABASE_SECRET_ARN: db.secret.secretArn,
        PIPELINE_SECRET_ARN: db.pipelineSecret.secretArn,
        READONLY_SECRET_ARN: db.readonlySecret.secretArn,
        CONSOLE_SECRET_ARN: db.consoleSecret.secretArn,
      },
    },
    [db.secret, db.pipelineSecret, db.readonlySecret, db.consoleSecret],
  );
  const migrations = new Script(stack, "Migrations", {
    onCreate: migrate,
    onUpdate: migrate,
    // Runs when the SQL changes (and on the first deploy), not on every deploy.
    version: sqlVersion(path.join(useProject().paths.root, "sql")),
  });

  const validate = handler("Validate", "validate", SIZING.validate);
  const checksum = handler("Checksum", "checksum", SIZING.checksum);
  const stage = handler("Stage", "stage", SIZING.stage);
  const resume = handler("Resume", "resume", SIZING.resume);
  const processChunk = handler("ProcessChunk", "process-chunk", SIZING.processChunk);
  const finalize = handler("Finalize", "finalize", SIZING.finalize);
  const markFailed = handler("MarkFailed", "mark-failed", SIZING.markFailed);
  grantS3(validate, S3_ACCESS.validate);
  grantS3(checksum, S3_ACCESS.checksum);
  grantS3(stage, S3_ACCESS.stage);
  grantS3(processChunk, S3_ACCESS.processChunk);
  grantS3(finalize, S3_ACCESS.finalize);
  grantS3(markFailed, S3_ACCESS.markFailed);
  grantS3(resume, S3_ACCESS.resume);
  alerts.grantPublish(markFailed);

  // The state machine: stacks/ingest.asl.json, each ${<State>FunctionArn} bound to its Lambda.
  const tasks = {
    ValidateFunctionArn: validate,
    ChecksumFunctionArn: checksum,
    StageFunctionArn: stage,
    ResumeFunctionArn: resume,
    ProcessChunkFunctionArn: processChunk,
    FinalizeFunctionArn: finalize,
    MarkFailedFunctionArn: markFailed,
  };
  const ingest = new sfn.StateMachine(stack, "Ingest", {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(
      ingestDefinition({
        mapMaxConcurrency: config.ingest.mapMaxConcurrency,
        timeoutSeconds: config.ingest.executionTimeoutMinutes * 60,
      }),
    ),
    definitionSubstitutions: Object.fromEntries(Object.entries(tasks).map(([key, fn]) => [key, fn.functionArn])),
  });
  // fromString gives CDK no knowledge of the tasks: grant exactly these functions (and their versions).
  for (const fn of Object.values(tasks)) fn.grantInvoke(ingest);

  // S3 ObjectCreated under inbox/ → trigger: registers the import and starts the execution.
  // A trigger that still fails after Lambda's async retries alerts instead of losing the file.
  const trigger = handler("Trigger", "trigger", SIZING.trigger, {
    environment: { STATE_MACHINE_ARN: ingest.stateMachineArn },
    retryAttempts: 2,
    onFailure: new SnsDestination(alerts),
  });
  // The trigger reads nothing in S3: it registers the import from the event and starts the execution.
  ingest.grantStartExecution(trigger);
  bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new LambdaDestination(trigger), { prefix: INBOX_PREFIX });

  // Operations: `leadpipe replay` invokes it; it writes the rows to replay under replays/ and starts
  // a new execution of the state machine for the replay import.
  const replay = handler("Replay", "replay", SIZING.replay, {
    environment: { STATE_MACHINE_ARN: ingest.stateMachineArn },
  });
  grantS3(replay, S3_ACCESS.replay);
  ingest.grantStartExecution(replay);

  // Crash recovery on a schedule: an import whose execution is gone (DescribeExecution) is resumed
  // by a new execution of its remaining chunks, or ended FAILED with its reports and an alert.
  const recoverImports = handler("RecoverImports", "recover-imports", SIZING.recoverImports, {
    environment: { STATE_MACHINE_ARN: ingest.stateMachineArn },
    retryAttempts: 2,
    onFailure: new SnsDestination(alerts),
  });
  ingest.grantStartExecution(recoverImports);
  const describeExecutions = new iam.PolicyStatement({
    actions: ["states:DescribeExecution"],
    resources: [executionArnPattern(stack, ingest)],
  });
  recoverImports.addToRolePolicy(describeExecutions);
  // A replay takes over an import whose execution is gone: it ends it FAILED (reports, alert) first.
  replay.addToRolePolicy(describeExecutions);
  alerts.grantPublish(replay);
  // markFailed's reports and the chunk objects' presence; its alert goes to the topic.
  grantS3(recoverImports, S3_ACCESS.recoverImports);
  alerts.grantPublish(recoverImports);
  new events.Rule(stack, "RecoverImportsSchedule", {
    description: `leadpipe ${app.stage}: resume or fail imports whose execution is gone`,
    schedule: events.Schedule.expression(config.schedules.recoverImports),
    targets: [new targets.LambdaFunction(recoverImports)],
  });

  // Alerts: an execution that ends FAILED, TIMED_OUT or ABORTED publishes to the topic.
  // (mark-failed publishes the import-level detail itself; this rule also catches what never
  // reached the Catch: timeouts, aborts, a failing MarkFailed.)
  new events.Rule(stack, "IngestExecutionFailed", {
    description: `leadpipe ${app.stage}: ingest execution ended FAILED, TIMED_OUT or ABORTED`,
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [ingest.stateMachineArn] },
    },
    targets: [
      alertTarget(alerts, {
        message: events.RuleTargetInput.fromObject({
          alert: "leadpipe ingest execution did not complete",
          stage: app.stage,
          importId: events.EventField.fromPath("$.detail.name"),
          status: events.EventField.fromPath("$.detail.status"),
          executionArn: events.EventField.fromPath("$.detail.executionArn"),
          error: events.EventField.fromPath("$.detail.error"),
          cause: events.EventField.fromPath("$.detail.cause"),
        }),
      }),
    ],
  });

  // People: matched into golden records after their import, by one consumer in landing order
  // (never inside the import: a million borrowers must not hold up the import that landed them).
  // The people loop (stacks/people.asl.json) invokes the consumer, which stops between two batches
  // before its Lambda's limit, again while an import is in progress: a list of any size is resolved
  // within Lambda limits. It starts when an ingest execution succeeds and on a catch-up schedule;
  // a loop that fails alerts.
  const resolvePeople = handler("ResolvePeople", "resolve-people", SIZING.resolvePeople);
  // It alerts an import whose people keep failing itself (the loop's own failure has its rule below).
  alerts.grantPublish(resolvePeople);
  const peopleLoop = new sfn.StateMachine(stack, "PeopleLoop", {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(peopleAsl)),
    definitionSubstitutions: { ResolvePeopleFunctionArn: resolvePeople.functionArn },
  });
  resolvePeople.grantInvoke(peopleLoop);
  new events.Rule(stack, "ResolvePeopleAfterIngest", {
    description: `leadpipe ${app.stage}: resolve the people of imports that just landed`,
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: ["SUCCEEDED"], stateMachineArn: [ingest.stateMachineArn] },
    },
    targets: [new targets.SfnStateMachine(peopleLoop)],
  });
  new events.Rule(stack, "ResolvePeopleCatchUp", {
    description: `leadpipe ${app.stage}: resolve the people of any import still waiting`,
    schedule: events.Schedule.expression(config.schedules.resolvePeople),
    targets: [new targets.SfnStateMachine(peopleLoop)],
  });
  new events.Rule(stack, "PeopleLoopFailed", {
    description: `leadpipe ${app.stage}: people loop ended FAILED, TIMED_OUT or ABORTED`,
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [peopleLoop.stateMachineArn] },
    },
    targets: [
      alertTarget(alerts, {
        message: events.RuleTargetInput.fromObject({
          alert: "leadpipe people loop did not complete",
          stage: app.stage,
          status: events.EventField.fromPath("$.detail.status"),
          executionArn: events.EventField.fromPath("$.detail.executionArn"),
          error: events.EventField.fromPath("$.detail.error"),
          cause: events.EventField.fromPath("$.detail.cause"),
        }),
      }),
    ],
  });

  // Schedules (EventBridge, UTC). Partner pullers (SFTP, FTPS, e-mail) are added here, one rule
  // per puller with its cron from StageConfig.schedules, each targeting its own handler.
  const refreshViews = handler("RefreshViews", "refresh-views", SIZING.refreshViews, {
    retryAttempts: 2,
    onFailure: new SnsDestination(alerts),
  });
  new events.Rule(stack, "NightlyRefreshViews", {
    description: `leadpipe ${app.stage}: nightly refresh of the reporting views`,
    schedule: events.Schedule.expression(config.schedules.refreshViews),
    targets: [new targets.LambdaFunction(refreshViews)],
  });

  // Daily hand-off of new leads to the insurance agency: outbox/leads/<day>/ in the landing bucket.
  // It delivers the file to the stage's outbound destinations (pullers with direction "push"), each
  // exactly once, reading only their secrets; a failed delivery is alerted and sent by the next run.
  const destinations = (config.pullers ?? []).filter((p) => p.direction === "push");
  const leadHandoff = handler("LeadHandoff", "lead-handoff", SIZING.leadHandoff, {
    retryAttempts: 2,
    onFailure: new SnsDestination(alerts),
    // ssh2 (SFTP delivery): its optional native crypto binding stays out, it falls back to JavaScript.
    nodejs: { sourcemap: true, esbuild: { external: ["pg-native", "cpu-features", "*.node"] } },
    ...(destinations.length ? { environment: { LEAD_DELIVERIES: JSON.stringify(destinations) } } : {}),
  });
  for (const spec of parsePullers(JSON.stringify(destinations), "pullers")) {
    if (spec.secret)
      leadHandoff.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["secretsmanager:GetSecretValue"],
          resources: [namedSecretArn(stack, spec.secret)],
        }),
      );
  }
  grantS3(leadHandoff, S3_ACCESS.leadHandoff);
  // Delivering reads the hand-off files back (hashed, then streamed to each destination).
  if (destinations.length) bucket.grantRead(leadHandoff, `${LEADS_OUTBOX_PREFIX}*`);
  new events.Rule(stack, "DailyLeadHandoff", {
    description: `leadpipe ${app.stage}: daily hand-off file of new leads for the insurance agency`,
    schedule: events.Schedule.expression(config.schedules.leadHandoff),
    targets: [new targets.LambdaFunction(leadHandoff)],
  });

  // Audiences (the same use case as `leadpipe audience publish`): on demand, and on the schedules
  // of the campaigns the stage lists. It writes only under outbox/audiences/ and reads nothing in S3.
  const publishAudience = handler("PublishAudience", "publish-audience", SIZING.publishAudience, {
    // The database stops the statement before Lambda stops the function: the error is PostgreSQL's.
    environment: { STATEMENT_TIMEOUT_MS: String(14 * 60 * 1000) },
  });
  // A failed publish alerts through an alarm on its errors, so the function itself needs no
  // permission beyond the outbox and the secret (an on-failure destination would grant sns:Publish).
  const publishFailed = new cloudwatch.Alarm(stack, "PublishAudienceFailed", {
    alarmDescription: `leadpipe ${app.stage}: an audience publish failed (see the PublishAudience logs)`,
    metric: publishAudience.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  publishFailed.addAlarmAction(new cloudwatchActions.SnsAction(alerts));
  // The topic policy replaces SNS's default (owner-account) policy: let CloudWatch publish, for this alarm only.
  alerts.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [alerts.topicArn],
      conditions: { ArnEquals: { "aws:SourceArn": publishFailed.alarmArn } },
    }),
  );
  grantS3(publishAudience, S3_ACCESS.publishAudience);
  for (const { campaign, channel, schedule } of config.audienceSchedules) {
    new events.Rule(stack, `PublishAudience-${campaign}-${channel}`, {
      description: `leadpipe ${app.stage}: publish the ${campaign} audience on ${channel} for the day`,
      schedule: events.Schedule.expression(schedule),
      targets: [
        new targets.LambdaFunction(publishAudience, {
          event: events.RuleTargetInput.fromObject({ campaign, channel, time: events.EventField.time }),
        }),
      ],
    });
  }

  // A legacy database to migrate (off unless the stage configures it): stacks/LegacyMigration.ts.
  const legacy = config.legacyMigration
    ? legacyMigration(stack, {
        stage: app.stage,
        config: config.legacyMigration,
        db,
        bucket,
        alerts,
        sizing: SIZING,
        handler,
        alertTarget: (message) => alertTarget(alerts, { message }),
      })
    : undefined;

  for (const fn of [
    ...(legacy?.functions ?? []),
    validate,
    checksum,
    stage,
    resume,
    recoverImports,
    processChunk,
    resolvePeople,
    finalize,
    markFailed,
    trigger,
    replay,
    refreshViews,
    leadHandoff,
    publishAudience,
  ]) {
    fn.node.addDependency(migrations);
  }

  stack.addOutputs({
    LandingBucket: bucket.bucketName,
    StateMachineArn: ingest.stateMachineArn,
    PeopleLoopArn: peopleLoop.stateMachineArn,
    AlertTopicArn: alerts.topicArn,
    ...(legacy ? { LegacyMigrationArn: legacy.machine.stateMachineArn } : {}),
  });

  return {
    bucket,
    alerts,
    ingest,
    trigger,
    replay,
    recoverImports,
    refreshViews,
    leadHandoff,
    resolvePeople,
    peopleLoop,
    publishAudience,
    migrate,
    legacy,
  };
}

/** The ARNs of this state machine's executions (arn:…:execution:<machine name>:*). */
function executionArnPattern(stack: StackContext["stack"], machine: sfn.StateMachine): string {
  return stack.formatArn({
    service: "states",
    resource: "execution",
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    resourceName: `${machine.stateMachineName}:*`,
  });
}

/**
 * An EventBridge rule target publishing to the alert topic. targets.SnsTopic would let every
 * EventBridge rule in any account publish (a topic policy for events.amazonaws.com without a
 * condition); this one admits only the rule it is bound to (aws:SourceArn).
 */
function alertTarget(topic: sns.Topic, props: { message: events.RuleTargetInput }): events.IRuleTarget {
  return {
    bind(rule: events.IRule): events.RuleTargetConfig {
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal("events.amazonaws.com")],
          actions: ["sns:Publish"],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { "aws:SourceArn": rule.ruleArn } },
        }),
      );
      return { arn: topic.topicArn, input: props.message, targetResource: topic };
    },
  };
}

/** A digest of every file under sql/, so the migration Script reruns exactly when the SQL changes. */
function sqlVersion(dir: string): string {
  const hash = createHash("sha256");
  const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) {
    hash.update(path.relative(dir, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}
