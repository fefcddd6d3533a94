/**
 * The legacy migration in AWS, synthesized offline for the "migration-example" stage (stacks/config.ts,
 * EXAMPLE_LEGACY_MIGRATION): stacks/legacy-migration.asl.json as a Distributed Map over (table, key range)
 * items with the stage's concurrency; its Lambdas in the VPC, admitted by the legacy database's security
 * group, reading its connection from the named secret; IAM limited to that secret, this state machine
 * and the migration's prefixes. What aws-local-stepfunctions cannot run (ProcessorConfig, ItemReader,
 * ResultWriter) is asserted here; the rest runs locally in test/e2e/legacy-machine.test.ts.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { Migration } from "@leadpipe/core";
import { MIGRATION_RESULTS as RESULTS } from "../../packages/core/src/migration/machine";
import { MIGRATION_LANDING_PREFIXES } from "../../packages/core/src/migration/run";
import { EXAMPLE_LEGACY_MIGRATION, stageConfig, stageNames } from "../../stacks/config";
import { placeholdersIn } from "../../stacks/ingest-definition";
import { Pipeline } from "../../stacks/Pipeline";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";

type Json = any; // CloudFormation fragments

const STAGE = "migration-example";
const ASL_TEXT = readFileSync(path.join(PROJECT_ROOT, "stacks/legacy-migration.asl.json"), "utf8");
const ASL = JSON.parse(ASL_TEXT);

/** Each placeholder of the ASL and the handler its Lambda runs. */
const TASKS: Record<string, string> = {
  LegacyOpenFunctionArn: "functions/legacy-open.handler",
  LegacyPlanFunctionArn: "functions/legacy-plan.handler",
  LegacyLandRangeFunctionArn: "functions/legacy-land-range.handler",
  LegacyProgressFunctionArn: "functions/legacy-progress.handler",
  LegacyReconcilePlanFunctionArn: "functions/legacy-reconcile-plan.handler",
  LegacyReconcileRangeFunctionArn: "functions/legacy-reconcile-range.handler",
  LegacyReconcileFunctionArn: "functions/legacy-reconcile.handler",
  LegacyFailedFunctionArn: "functions/legacy-failed.handler",
};
/** The handlers that read the legacy database (and so its secret). */
const READ_SOURCE = [
  "functions/legacy-open.handler",
  "functions/legacy-plan.handler",
  "functions/legacy-land-range.handler",
  "functions/legacy-reconcile-range.handler",
  "functions/legacy-reconcile.handler",
];
/** What each may put in the landing bucket (and none reads it: the state machine's ItemReader does). */
const PUTS: Record<string, string[]> = {
  "functions/legacy-plan.handler": ["reports/migrations/*/items-*.json"],
  "functions/legacy-land-range.handler": MIGRATION_LANDING_PREFIXES.map((prefix) => `${prefix}*`).sort(),
  "functions/legacy-reconcile-plan.handler": ["reports/migrations/*/checks-*.json"],
  "functions/legacy-reconcile.handler": ["reports/migrations/*/manifest.json"],
};

let template: Template;
let resources: Record<string, Json>;

beforeAll(async () => {
  const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", STAGE);
  rmSync(outdir, { recursive: true, force: true });
  await synthesize(STAGE, outdir);
  template = Template.fromStack(getStack(Pipeline));
  resources = template.toJSON().Resources as Record<string, Json>;
}, 600_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const fnId = (handler: string) => {
  const found = ofType("AWS::Lambda::Function").filter(([, r]) => r.Properties.Handler === handler);
  expect(found, handler).toHaveLength(1);
  return found[0]![0];
};
const statementsOfRole = (roleId: string): Json[] =>
  ofType("AWS::IAM::Policy")
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap(([, p]) => asList(p.Properties.PolicyDocument.Statement));
const fnStatements = (handler: string) => statementsOfRole(resources[fnId(handler)].Properties.Role["Fn::GetAtt"][0]);
const machine = () => {
  const found = ofType("AWS::StepFunctions::StateMachine").filter(([id]) => id.startsWith("LegacyMigration"));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const bucketId = () => ofType("AWS::S3::Bucket")[0]![0];
/** The object pattern an S3 statement's resource names in the landing bucket (`<bucket arn>/<pattern>`). */
const objectPattern = (resource: Json): string | undefined => {
  const parts = resource?.["Fn::Join"]?.[1];
  if (!Array.isArray(parts) || JSON.stringify(parts[0]) !== JSON.stringify({ "Fn::GetAtt": [bucketId(), "Arn"] }))
    return undefined;
  return /^\/(.+)$/.exec(parts[1])?.[1];
};
/** Whether an IAM resource pattern names an object key (IAM's `*` matches any characters, `/` too). */
const iamMatches = (pattern: string, key: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  ).test(key);
const secretPattern = `secret:${EXAMPLE_LEGACY_MIGRATION.secret}-??????`;

describe("the stage setting", () => {
  it("is off unless a stage configures it: only the example stage has a legacy migration", () => {
    expect(stageNames().filter((s) => stageConfig(s).legacyMigration)).toEqual([STAGE]);
  });
});

describe("the legacy migration state machine", () => {
  it("is the ASL file with the stage's MaxConcurrency and timeout, each placeholder bound to its Lambda", () => {
    const [, m] = machine();
    expect(m.Properties.StateMachineName).toBe("leadpipe-migration-example-legacy-migration");
    expect(m.Properties.StateMachineType).toBe("STANDARD");
    const deployed = JSON.parse(m.Properties.DefinitionString);
    const expected = structuredClone(ASL);
    expected.States.LandRanges.MaxConcurrency = EXAMPLE_LEGACY_MIGRATION.maxConcurrency;
    expected.States.ReconcileRanges.MaxConcurrency = EXAMPLE_LEGACY_MIGRATION.maxConcurrency;
    expected.TimeoutSeconds = EXAMPLE_LEGACY_MIGRATION.executionTimeoutHours * 3600;
    expect(deployed).toEqual(expected);
    expect(placeholdersIn(ASL_TEXT)).toEqual(Object.keys(TASKS).sort());
    for (const [placeholder, handler] of Object.entries(TASKS))
      expect(m.Properties.DefinitionSubstitutions[placeholder], placeholder).toEqual({
        "Fn::GetAtt": [fnId(handler), "Arn"],
      });
  });

  /**
   * A Distributed Map reading its items from the S3 object `plan` names, each item one Lambda (`placeholder`)
   * retried on RetryableError; one failure fails it (the Catch). Its items' outputs are exported to S3
   * (ResultWriter: without one they would be the Map's result, under the 256 KiB payload limit whatever
   * ResultPath says) and its own result is discarded (the rows in PostgreSQL are the record): its output
   * stays small at any item count.
   */
  const expectDistributedMap = (map: Json, plan: string, placeholder: string) => {
    expect(map.Type).toBe("Map");
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });
    expect(map.ItemReader).toEqual({
      Resource: "arn:aws:states:::s3:getObject",
      ReaderConfig: { InputType: "JSON" },
      Parameters: { "Bucket.$": `${plan}.bucket`, "Key.$": `${plan}.key` },
    });
    expect(map.ResultWriter).toEqual({
      Resource: "arn:aws:states:::s3:putObject",
      Parameters: { "Bucket.$": `${plan}.bucket`, "Prefix.$": `${plan}.results` },
    });
    expect(map.ItemsPath).toBeUndefined();
    expect(map.ToleratedFailurePercentage).toBe(0);
    expect(map.ResultPath).toBeNull();
    expect(map.Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Failed" }]);
    const task = map.ItemProcessor.States[map.ItemProcessor.StartAt];
    expect(task.Parameters).toEqual({ FunctionName: `\${${placeholder}}`, "Payload.$": "$" });
    expect(task.Retry[0].ErrorEquals).toContain("RetryableError");
    expect(task.Retry[0].MaxAttempts).toBeGreaterThanOrEqual(3);
  };

  it("fans out as a Distributed Map reading its items from S3, retrying a range on RetryableError, failing as one", () => {
    expectDistributedMap(ASL.States.LandRanges, "$.plan", "LegacyLandRangeFunctionArn");
  });

  it("exports each Map's results beside its item list, under the prefix the machine may write", () => {
    // The plans answer where (functions/legacy-plan, legacy-reconcile-plan): the ResultWriters' Prefix.
    expect(ASL.States.Plan.ResultSelector["results.$"]).toBe("$.Payload.results");
    expect(ASL.States.PlanReconcile.ResultSelector["results.$"]).toBe("$.Payload.results");
    const run = "0b6e1f1e-5c1a-4c53-9a57-0f0c4f3e2a10";
    const items = Migration.resultsPrefix(Migration.itemsKey(run, "first"));
    const checks = Migration.resultsPrefix(Migration.checksKey(run, "c0ffee00-0000-4000-8000-000000000000"));
    expect(items).toBe(`reports/migrations/${run}/results/items-first`);
    expect(checks).toBe(`reports/migrations/${run}/results/checks-c0ffee00-0000-4000-8000-000000000000`);
    // Step Functions writes <prefix>/<map run id>/manifest.json and a file per status under it.
    for (const prefix of [items, checks]) expect(iamMatches(RESULTS, `${prefix}/1a2b/manifest.json`)).toBe(true);
    expect(iamMatches(RESULTS, Migration.itemsKey(run, "first"))).toBe(false);
  });

  it("reconciles as a second Distributed Map, one item per range from S3, then sums the stored checks", () => {
    expect(ASL.States.PeopleDone.Default).toBe("PlanReconcile");
    expect(ASL.States.PlanReconcile.Next).toBe("ReconcileRanges");
    expect(ASL.States.PlanReconcile.ResultPath).toBe("$.checks");
    expectDistributedMap(ASL.States.ReconcileRanges, "$.checks", "LegacyReconcileRangeFunctionArn");
    expect(ASL.States.ReconcileRanges.Next).toBe("Reconcile");
    // The sum gets the reconciliation's id: only the ranges it checked count.
    expect(ASL.States.Reconcile.Parameters.Payload).toEqual({
      "run_id.$": "$.run.run_id",
      "check_id.$": "$.checks.check_id",
    });
    expect(ASL.States.Reconcile.Next).toBe("Balanced");
  });

  it("catches every failure into the Failed task (NotOpened before a run exists), which ends in a Fail state", () => {
    for (const [name, state] of Object.entries(ASL.States) as [string, Json][]) {
      if (state.Type !== "Task" && state.Type !== "Map") continue;
      if (name === "Failed" || name === "NotOpened") {
        expect(state.Next, name).toBe("MigrationFailed");
        continue;
      }
      expect(state.Catch, name).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: name === "Open" ? "NotOpened" : "Failed" },
      ]);
    }
    expect(ASL.States.MigrationFailed.Type).toBe("Fail");
    // An unbalanced manifest fails the execution too (after Failed alerts it).
    expect(ASL.States.Balanced.Default).toBe("Unbalanced");
    expect(ASL.States.Unbalanced.Next).toBe("Failed");
  });

  it("may start and watch only its own executions, invoke only its Lambdas, read only the item lists, write only results", () => {
    const [id, m] = machine();
    const statements = statementsOfRole(m.Properties.RoleArn["Fn::GetAtt"][0]);
    const text = (s: Json) => JSON.stringify(s.Resource);
    const start = statements.filter((s) => asList(s.Action).includes("states:StartExecution"));
    expect(start, id).toHaveLength(1);
    expect(text(start[0])).toContain(":stateMachine:leadpipe-migration-example-legacy-migration");
    expect(text(start[0])).not.toContain("*");
    const watch = statements.filter((s) => asList(s.Action).includes("states:DescribeExecution"));
    expect(watch).toHaveLength(1);
    expect(asList(watch[0].Action).sort()).toEqual(["states:DescribeExecution", "states:StopExecution"]);
    expect(text(watch[0])).toContain(":execution:leadpipe-migration-example-legacy-migration/*");
    const invoke = statements.filter((s) => asList(s.Action).includes("lambda:InvokeFunction"));
    const invoked = new Set(
      invoke
        .flatMap((s) => asList(s.Resource))
        .map((r: Json) => JSON.stringify(r).match(/"(Legacy[A-Za-z]+?[0-9A-F]{8})"/)?.[1]),
    );
    expect([...invoked].sort()).toEqual(Object.values(TASKS).map(fnId).sort());
    const s3 = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("s3:")));
    expect(s3.length).toBeGreaterThan(0);
    const reads = s3.filter((s) => asList(s.Action).every((a: string) => /^s3:(Get|List)/.test(a)));
    for (const s of reads)
      for (const r of asList(s.Resource))
        if (JSON.stringify(r) !== JSON.stringify({ "Fn::GetAtt": [bucketId(), "Arn"] }))
          expect(objectPattern(r)).toBe("reports/migrations/*");
    // The ResultWriters' export (multipart for large files), and nowhere else.
    const writes = s3.filter((s) => !reads.includes(s));
    expect(writes).toHaveLength(1);
    expect(asList(writes[0].Action).sort()).toEqual([
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]);
    expect(asList(writes[0].Resource).map(objectPattern)).toEqual([RESULTS]);
    for (const s of statements) expect(asList(s.Resource)).not.toContain("*");
  });

  it("alerts an execution that ends FAILED, TIMED_OUT or ABORTED through the topic", () => {
    const [machineId] = machine();
    const rule = ofType("AWS::Events::Rule").find(([, r]) =>
      JSON.stringify(r.Properties.EventPattern?.detail?.stateMachineArn ?? "").includes(machineId),
    );
    expect(rule).toBeDefined();
    expect(rule![1].Properties.EventPattern.detail.status).toEqual(["FAILED", "TIMED_OUT", "ABORTED"]);
    const [topicId] = ofType("AWS::SNS::Topic")[0]!;
    expect(rule![1].Properties.Targets[0].Arn).toEqual({ Ref: topicId });
  });
});

describe("the legacy migration Lambdas", () => {
  it("run in the app subnets with the Aurora group and their own, which the legacy database admits on its port", () => {
    const [sgId] = ofType("AWS::EC2::SecurityGroup").find(([id]) => id.startsWith("LegacyMigrationSecurityGroup"))!;
    for (const handler of Object.values(TASKS)) {
      const vpc = resources[fnId(handler)].Properties.VpcConfig;
      expect(vpc.SecurityGroupIds, handler).toHaveLength(2);
      expect(JSON.stringify(vpc.SecurityGroupIds), handler).toContain(sgId);
    }
    const ingress = ofType("AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
    expect(ingress).toContainEqual({
      IpProtocol: "tcp",
      FromPort: 3306,
      ToPort: 3306,
      GroupId: EXAMPLE_LEGACY_MIGRATION.securityGroupId,
      SourceSecurityGroupId: { "Fn::GetAtt": [sgId, "GroupId"] },
      Description: "leadpipe legacy migration Lambdas",
    });
  });

  it("read the legacy secret only where they read the source, by name; the connection is in no template", () => {
    for (const handler of Object.values(TASKS)) {
      const secrets = JSON.stringify(
        fnStatements(handler)
          .filter((s) => asList(s.Action).includes("secretsmanager:GetSecretValue"))
          .map((s) => s.Resource),
      );
      const env = resources[fnId(handler)].Properties.Environment.Variables;
      if (READ_SOURCE.includes(handler)) {
        expect(secrets, handler).toContain(secretPattern);
        expect(JSON.stringify(env.LEGACY_SECRET_ARN), handler).toContain(secretPattern);
      } else {
        expect(secrets, handler).not.toContain("leadpipe/legacy/");
        expect(env.LEGACY_SECRET_ARN, handler).toBeUndefined();
      }
      expect(env.LEGACY_SOURCE, handler).toBeUndefined();
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/mysql:\/\/|mariadb:\/\//);
  });

  it("put only under the migration's prefixes, read nothing of the bucket, and only Failed publishes alerts", () => {
    for (const handler of Object.values(TASKS)) {
      const statements = fnStatements(handler);
      const s3 = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("s3:")));
      const puts = s3.flatMap((s) => asList(s.Resource).map(objectPattern));
      for (const s of s3)
        expect(
          asList(s.Action).every((a: string) => /^s3:(Put|Abort)/.test(a)),
          handler,
        ).toBe(true);
      expect([...new Set(puts)].sort(), handler).toEqual(PUTS[handler] ?? []);
      const publishes = statements.some((s) => asList(s.Action).includes("sns:Publish"));
      expect(publishes, handler).toBe(handler === "functions/legacy-failed.handler");
      for (const s of statements) expect(asList(s.Resource), handler).not.toContain("*");
    }
    expect(MIGRATION_LANDING_PREFIXES).toEqual(
      expect.arrayContaining(["inbox/legacy-contacts/migrate/", "inbox/legacy-touchpoints/migrate/"]),
    );
  });

  it("land and reconcile a range within Lambda's limits: 2 GB, 15 minutes", () => {
    for (const handler of ["functions/legacy-land-range.handler", "functions/legacy-reconcile-range.handler"]) {
      const f = resources[fnId(handler)].Properties;
      expect(f.MemorySize, handler).toBe(2048);
      expect(f.Timeout, handler).toBe(900);
    }
  });
});
