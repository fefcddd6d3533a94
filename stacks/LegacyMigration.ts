import { ArnFormat, type Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Function as LambdaFunction, FunctionProps } from "sst/constructs";
import { MIGRATION_LANDING_PREFIXES } from "../packages/core/src/migration/run";
import { MIGRATION_REPORTS_PREFIX, MIGRATION_RESULTS } from "../packages/core/src/migration/machine";
import type { LegacyMigrationConfig } from "./config";
import type { Database } from "./Database";
import { stageDefinition } from "./ingest-definition";
import legacyAsl from "./legacy-migration.asl.json";
import { namedSecretArn } from "./secrets";

/** The Distributed Map of stacks/legacy-migration.asl.json: one child execution per (table, key range) item. */
export const RANGE_MAP_STATE = "LandRanges";
/** Its second Distributed Map: one child execution per checkpointed range, reconciled. */
export const CHECK_MAP_STATE = "ReconcileRanges";

/** The state machine's name: fixed, so its role can name it (a Distributed Map starts executions of it). */
export const legacyMachineName = (stage: string) => `leadpipe-${stage}-legacy-migration`;

/** The handlers' sizes: Pipeline.ts's SIZING has them beside every other handler's. */
type Sizing = Pick<FunctionProps, "memorySize" | "timeout">;
export type LegacySizing = Record<
  | "legacyOpen"
  | "legacyPlan"
  | "legacyLandRange"
  | "legacyProgress"
  | "legacyReconcilePlan"
  | "legacyReconcileRange"
  | "legacyReconcile"
  | "legacyFailed",
  Sizing
>;

export interface LegacyMigrationProps {
  stage: string;
  config: LegacyMigrationConfig;
  db: ReturnType<typeof Database>;
  bucket: s3.IBucket;
  alerts: sns.ITopic;
  sizing: LegacySizing;
  /** The pipeline's handler factory: a function from functions/ in the app subnets, reading the pipeline role's secret. */
  handler: (id: string, file: string, sizing: Sizing, extra?: FunctionProps) => LambdaFunction;
  /** An EventBridge target publishing to the alert topic, admitting only its rule. */
  alertTarget: (message: events.RuleTargetInput) => events.IRuleTarget;
}

/**
 * The AWS shape of `leadpipe migrate` (docs/migration.md): stacks/legacy-migration.asl.json over the
 * legacy database, read through the VPC. Lambdas in the app subnets with a security group of their own
 * that the legacy database's group admits on its port; the connection in the stage's named secret, read
 * only by the functions that read the source; puts only under the migration's landing prefixes; the
 * item lists, the Maps' exported results and the manifest under reports/migrations/. Built in the
 * pipeline's stack (its topic's policy names the failure rule, which a stack of its own could not do
 * without a reference cycle).
 */
export function legacyMigration(stack: Stack, p: LegacyMigrationProps) {
  const { db, bucket, alerts, config } = p;
  const functions = new ec2.SecurityGroup(stack, "LegacyMigrationSecurityGroup", {
    vpc: db.vpc,
    description: "leadpipe legacy migration Lambdas: admitted by the legacy database's security group",
    // Egress is the function security group's (Aurora, AWS APIs, the legacy database): this one only names them.
    allowAllOutbound: false,
  });
  if (config.securityGroupId) {
    const legacyDb = ec2.SecurityGroup.fromSecurityGroupId(
      stack,
      "LegacyDatabaseSecurityGroup",
      config.securityGroupId,
      {
        mutable: true,
        allowAllOutbound: true,
      },
    );
    legacyDb.addIngressRule(functions, ec2.Port.tcp(config.port), "leadpipe legacy migration Lambdas");
  }
  const secretArn = namedSecretArn(stack, config.secret);
  const readsSource = new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] });
  const fn = (id: string, file: string, sizing: Sizing, source: boolean) => {
    const f = p.handler(id, file, sizing, {
      securityGroups: [db.functionSecurityGroup, functions],
      // SQLite is never read in AWS: its native binding stays out of the bundle.
      nodejs: { sourcemap: true, esbuild: { external: ["pg-native", "better-sqlite3"] } },
      environment: source ? { LEGACY_SECRET_ARN: secretArn } : {},
    });
    if (source) f.addToRolePolicy(readsSource);
    return f;
  };
  const open = fn("LegacyOpen", "legacy-open", p.sizing.legacyOpen, true);
  const plan = fn("LegacyPlan", "legacy-plan", p.sizing.legacyPlan, true);
  const landRange = fn("LegacyLandRange", "legacy-land-range", p.sizing.legacyLandRange, true);
  const progress = fn("LegacyProgress", "legacy-progress", p.sizing.legacyProgress, false);
  const reconcilePlan = fn("LegacyReconcilePlan", "legacy-reconcile-plan", p.sizing.legacyReconcilePlan, false);
  const reconcileRange = fn("LegacyReconcileRange", "legacy-reconcile-range", p.sizing.legacyReconcileRange, true);
  const reconcile = fn("LegacyReconcile", "legacy-reconcile", p.sizing.legacyReconcile, true);
  const failed = fn("LegacyFailed", "legacy-failed", p.sizing.legacyFailed, false);
  // Each writes only its own kind of file of a run (manifestKey, itemsKey, checksKey in machine.ts).
  bucket.grantPut(plan, `${MIGRATION_REPORTS_PREFIX}*/items-*.json`);
  bucket.grantPut(reconcilePlan, `${MIGRATION_REPORTS_PREFIX}*/checks-*.json`);
  bucket.grantPut(reconcile, `${MIGRATION_REPORTS_PREFIX}*/manifest.json`);
  for (const prefix of MIGRATION_LANDING_PREFIXES) bucket.grantPut(landRange, `${prefix}*`);
  alerts.grantPublish(failed);

  const tasks = {
    LegacyOpenFunctionArn: open,
    LegacyPlanFunctionArn: plan,
    LegacyLandRangeFunctionArn: landRange,
    LegacyProgressFunctionArn: progress,
    LegacyReconcilePlanFunctionArn: reconcilePlan,
    LegacyReconcileRangeFunctionArn: reconcileRange,
    LegacyReconcileFunctionArn: reconcile,
    LegacyFailedFunctionArn: failed,
  };
  const name = legacyMachineName(p.stage);
  const machine = new sfn.StateMachine(stack, "LegacyMigration", {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(
      stageDefinition(legacyAsl, "stacks/legacy-migration.asl.json", [RANGE_MAP_STATE, CHECK_MAP_STATE], {
        mapMaxConcurrency: config.maxConcurrency,
        timeoutSeconds: Math.round(config.executionTimeoutHours * 3600),
      }),
    ),
    definitionSubstitutions: Object.fromEntries(Object.entries(tasks).map(([key, f]) => [key, f.functionArn])),
  });
  for (const f of Object.values(tasks)) f.grantInvoke(machine);
  // The Distributed Maps: their ItemReaders read the item lists, their ResultWriters export the items'
  // outputs under results/ (the rights AWS documents for it, multipart included: the export is one object
  // per status, of any size); they run each item as a child execution of this machine (named, not by
  // reference: the role cannot depend on the machine it belongs to).
  bucket.grantRead(machine, `${MIGRATION_REPORTS_PREFIX}*`);
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
      resources: [bucket.arnForObjects(MIGRATION_RESULTS)],
    }),
  );
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({ service: "states", resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [arn("stateMachine", name)] }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["states:DescribeExecution", "states:StopExecution"],
      resources: [arn("execution", `${name}/*`)],
    }),
  );

  // The Catch alerts what fails inside; this rule what never reached it (a timeout, an abort).
  new events.Rule(stack, "LegacyMigrationFailed", {
    description: `leadpipe ${p.stage}: legacy migration execution ended FAILED, TIMED_OUT or ABORTED`,
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [machine.stateMachineArn] },
    },
    targets: [
      p.alertTarget(
        events.RuleTargetInput.fromObject({
          alert: "leadpipe legacy migration did not complete",
          stage: p.stage,
          status: events.EventField.fromPath("$.detail.status"),
          executionArn: events.EventField.fromPath("$.detail.executionArn"),
          error: events.EventField.fromPath("$.detail.error"),
          cause: events.EventField.fromPath("$.detail.cause"),
        }),
      ),
    ],
  });
  return { machine, functions: Object.values(tasks), securityGroup: functions };
}
