/**
 * The synthesized CloudFormation of two tenants, asserted offline (no AWS credentials):
 * "test" (listed in stacks/config.ts with the development profile) and "prod" (the production profile).
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { stageConfig, stageNames, type StageConfig } from "../../stacks/config";
import { placeholdersIn } from "../../stacks/ingest-definition";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";

type Json = any; // CloudFormation fragments: shapes checked by the assertions themselves
type Resources = Record<string, Json>;

interface Tenant {
  stage: string;
  config: StageConfig;
  database: Template;
  pipeline: Template;
  stackNames: string[];
}

const ASL_TEXT = readFileSync(path.join(PROJECT_ROOT, "stacks/ingest.asl.json"), "utf8");

/** Each ASL placeholder and the handler file whose Lambda it must resolve to. */
const TASK_HANDLERS: Record<string, string> = {
  ValidateFunctionArn: "functions/validate.handler",
  ChecksumFunctionArn: "functions/checksum.handler",
  StageFunctionArn: "functions/stage.handler",
  ResumeFunctionArn: "functions/resume.handler",
  ProcessChunkFunctionArn: "functions/process-chunk.handler",
  FinalizeFunctionArn: "functions/finalize.handler",
  MarkFailedFunctionArn: "functions/mark-failed.handler",
};

/** The only handlers that start executions: the S3 trigger, the replay and crash recovery. */
const STARTERS = ["functions/trigger.handler", "functions/replay.handler", "functions/recover-imports.handler"];

const ALL_HANDLERS = [
  ...Object.values(TASK_HANDLERS),
  "functions/trigger.handler",
  "functions/replay.handler",
  "functions/recover-imports.handler",
  "functions/refresh-views.handler",
  "functions/lead-handoff.handler",
  "functions/publish-audience.handler",
  "functions/resolve-people.handler",
  "functions/migrate.handler",
].sort();

/**
 * The landing-bucket prefixes each handler reads and writes, worked out from the ObjectStore calls
 * of its use cases in packages/core (imports are landed under inbox/ or written by a replay under
 * replays/; chunks under staging/; reports under reports/<import id>/). A handler not listed here
 * (trigger, resolve-people, refresh-views, migrate, …) may not touch the bucket at all.
 */
const S3_PREFIXES: Record<string, { read: string[]; write: string[] }> = {
  "functions/validate.handler": { read: ["inbox/", "replays/"], write: [] },
  "functions/checksum.handler": { read: ["inbox/", "replays/"], write: ["reports/"] },
  "functions/stage.handler": { read: ["inbox/", "replays/"], write: ["staging/"] },
  "functions/process-chunk.handler": { read: ["inbox/", "replays/", "staging/"], write: [] },
  "functions/finalize.handler": { read: [], write: ["reports/"] },
  "functions/mark-failed.handler": { read: [], write: ["reports/"] },
  "functions/replay.handler": { read: ["inbox/", "replays/", "staging/"], write: ["replays/", "reports/"] },
  "functions/resume.handler": { read: ["inbox/", "replays/", "staging/"], write: [] },
  "functions/recover-imports.handler": { read: ["inbox/", "replays/", "staging/"], write: ["reports/"] },
  "functions/lead-handoff.handler": { read: [], write: ["outbox/leads/"] },
  "functions/publish-audience.handler": { read: [], write: ["outbox/audiences/"] },
};

/**
 * Inline IAM statements allowed to name Resource "*". Empty: anything AWS only grants on "*"
 * (ENI management for VPC Lambdas) comes from AWS managed policies; X-Ray tracing is off.
 */
const WILDCARD_ALLOW_LIST: ReadonlyArray<{ stack: string; resource: string; actions: string[] }> = [];

const tenants: Record<"dev" | "prod", Tenant> = {} as never;

beforeAll(async () => {
  for (const [key, stage] of [
    ["dev", "test"],
    ["prod", "prod"],
  ] as const) {
    // A fixed, gitignored cloud-assembly folder (not a fresh temp dir per run: bundles are MBs).
    const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", stage);
    rmSync(outdir, { recursive: true, force: true });
    const { stacks } = await synthesize(stage, outdir);
    tenants[key] = {
      stage,
      config: stageConfig(stage),
      database: Template.fromStack(stacks.database),
      pipeline: Template.fromStack(stacks.pipeline),
      stackNames: [stacks.database.stackName, stacks.pipeline.stackName],
    };
  }
  // Two synths bundle every Lambda with esbuild: minutes on a busy 2-core machine.
}, 600_000);

// ---------------------------------------------------------------------------------------------
// Helpers over the template JSON

function resources(template: Template, type: string): Resources {
  return template.findResources(type);
}

/** The attachment (secret + host/port) of the generated secret whose username is `user`. */
function attachmentOf(database: Template, user: string): string {
  const secrets = resources(database, "AWS::SecretsManager::Secret");
  const [secretId] =
    Object.entries(secrets).find(
      ([, s]) => JSON.parse(s.Properties.GenerateSecretString.SecretStringTemplate).username === user,
    ) ?? [];
  expect(secretId, `a generated secret for ${user}`).toBeDefined();
  const [attachmentId] =
    Object.entries(resources(database, "AWS::SecretsManager::SecretTargetAttachment")).find(
      ([, a]) => a.Properties.SecretId.Ref === secretId,
    ) ?? [];
  expect(attachmentId, `${user}'s secret attached to the cluster`).toBeDefined();
  return attachmentId!;
}

const MIGRATE = "functions/migrate.handler";

function only<T>(record: Record<string, T>, what: string): [string, T] {
  const entries = Object.entries(record);
  expect(entries, `exactly one ${what}`).toHaveLength(1);
  return entries[0]!;
}

/** The ingest state machine (the other one is the people loop). */
function ingestMachine(template: Template): [string, Json] {
  const machines = Object.entries(resources(template, "AWS::StepFunctions::StateMachine"));
  return only(Object.fromEntries(machines.filter(([id]) => id.startsWith("Ingest"))), "ingest state machine");
}

/** Logical id of the Lambda built from `handler` (e.g. "functions/trigger.handler"). */
function functionId(template: Template, handler: string): string {
  return only(template.findResources("AWS::Lambda::Function", { Properties: { Handler: handler } }), handler)[0];
}

function leadpipeFunctions(template: Template): Resources {
  return Object.fromEntries(
    Object.entries(resources(template, "AWS::Lambda::Function")).filter(([, r]) =>
      String(r.Properties.Handler).startsWith("functions/"),
    ),
  );
}

/** The one EventBridge schedule rule whose target is the Lambda `fnId`. */
function scheduleOf(template: Template, fnId: string): [string, Json] {
  const rules = template.findResources("AWS::Events::Rule", { Properties: { ScheduleExpression: Match.anyValue() } });
  const targeting = Object.entries(rules).filter(([, r]) =>
    (r.Properties.Targets as Json[]).some((target) => JSON.stringify(target.Arn) === JSON.stringify(getAttArn(fnId))),
  );
  return only(Object.fromEntries(targeting), `schedule of ${fnId}`);
}

function getAttArn(id: string): Json {
  return { "Fn::GetAtt": [id, "Arn"] };
}

/** An asynchronous invocation of `fnId` that still fails after its retries publishes to the alert topic. */
function expectFailuresAlerted(template: Template, fnId: string): void {
  const [topicId] = only(resources(template, "AWS::SNS::Topic"), "topic");
  template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
    FunctionName: { Ref: fnId },
    DestinationConfig: { OnFailure: { Destination: { Ref: topicId } } },
  });
}

/** `principal` may invoke the Lambda `fnId`, but only on behalf of the resource `sourceId`. */
function expectInvokePermission(template: Template, fnId: string, principal: string, sourceId: string): void {
  template.hasResourceProperties("AWS::Lambda::Permission", {
    Action: "lambda:InvokeFunction",
    FunctionName: getAttArn(fnId),
    Principal: principal,
    SourceArn: getAttArn(sourceId),
  });
}

function subnetTags(subnet: Json): Record<string, string> {
  return Object.fromEntries(subnet.Properties.Tags.map((tag: Json) => [tag.Key, tag.Value]));
}

/** Follows a Fn::ImportValue from the pipeline stack to the value the database stack exports. */
function exported(database: Template, value: Json): Json {
  const name: string | undefined = value?.["Fn::ImportValue"];
  expect(name, `expected an Fn::ImportValue, got ${JSON.stringify(value)}`).toBeTypeOf("string");
  const outputs = database.toJSON().Outputs as Record<string, Json>;
  const output = Object.values(outputs).find((o) => o.Export?.Name === name);
  expect(output, `no export named ${name}`).toBeDefined();
  return output.Value;
}

function statementsOf(policy: Json): Json[] {
  const statements = policy.PolicyDocument.Statement;
  return Array.isArray(statements) ? statements : [statements];
}

/** Every inline IAM statement in a template, with where it came from. */
function inlineStatements(template: Template): Array<{ owner: string; statement: Json }> {
  const out: Array<{ owner: string; statement: Json }> = [];
  for (const [id, r] of Object.entries(resources(template, "AWS::IAM::Policy"))) {
    for (const statement of statementsOf(r.Properties)) out.push({ owner: id, statement });
  }
  for (const [id, r] of Object.entries(resources(template, "AWS::IAM::ManagedPolicy"))) {
    for (const statement of statementsOf(r.Properties)) out.push({ owner: id, statement });
  }
  for (const [id, r] of Object.entries(resources(template, "AWS::IAM::Role"))) {
    for (const policy of r.Properties.Policies ?? []) {
      for (const statement of statementsOf(policy)) out.push({ owner: id, statement });
    }
  }
  return out;
}

/** The statements of the inline policies attached to a Lambda's execution role. */
function roleStatements(template: Template, fnId: string): Json[] {
  const roleId: string = resources(template, "AWS::Lambda::Function")[fnId].Properties.Role["Fn::GetAtt"][0];
  return Object.values(resources(template, "AWS::IAM::Policy"))
    .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap((p) => statementsOf(p.Properties));
}

/** Read-only S3 actions; anything else (Put*, Delete*, Abort*, Restore*, s3:* …) counts as a write. */
const S3_READ_ACTION = /^s3:(Get|List)[A-Za-z]*\*?$/;

/**
 * What a Lambda's role may do in the landing bucket: the object prefixes it may read and write,
 * and the problems found (a resource that is not the landing bucket or one of its prefixes, a
 * write on the bucket itself, a delete anywhere).
 */
function s3AccessOf(
  template: Template,
  fnId: string,
  bucketId: string,
): { read: string[]; write: string[]; problems: string[] } {
  const read = new Set<string>();
  const write = new Set<string>();
  const problems: string[] = [];
  const bucketArn = JSON.stringify(getAttArn(bucketId));
  for (const statement of roleStatements(template, fnId)) {
    const actions: string[] = asList(statement.Action);
    if (!actions.some((a) => a.startsWith("s3:") || a === "*")) continue;
    const writes = actions.filter((a) => !S3_READ_ACTION.test(a));
    if (statement.Effect !== "Allow") continue;
    if (actions.some((a) => /^s3:Delete/.test(a) || a === "s3:*" || a === "*"))
      problems.push(`may delete: ${JSON.stringify(actions)}`);
    for (const resource of asList(statement.Resource)) {
      if (JSON.stringify(resource) === bucketArn) {
        if (writes.length > 0) problems.push(`writes on the bucket itself: ${JSON.stringify(writes)}`);
        continue;
      }
      const parts = resource?.["Fn::Join"]?.[1];
      const suffix =
        Array.isArray(parts) && parts.length === 2 && JSON.stringify(parts[0]) === bucketArn ? parts[1] : undefined;
      const prefix = typeof suffix === "string" ? /^\/((?:[a-z]+\/)+)\*$/.exec(suffix)?.[1] : undefined;
      if (!prefix) {
        problems.push(`names ${JSON.stringify(resource)}, not a prefix of the landing bucket`);
        continue;
      }
      (writes.length > 0 ? write : read).add(prefix);
    }
  }
  return { read: [...read].sort(), write: [...write].sort(), problems };
}

function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function definitionOf(template: Template): Json {
  const [, machine] = ingestMachine(template);
  return JSON.parse(machine.Properties.DefinitionString);
}

// ---------------------------------------------------------------------------------------------

describe.each(["dev", "prod"] as const)("%s tenant", (key) => {
  const t = () => tenants[key];

  describe("ingest state machine", () => {
    it("binds exactly the ASL's ${...} placeholders, each to the Lambda of its task", () => {
      const { pipeline } = t();
      const [, machine] = ingestMachine(pipeline);
      const substitutions: Record<string, Json> = machine.Properties.DefinitionSubstitutions;

      expect(Object.keys(substitutions).sort()).toEqual(placeholdersIn(ASL_TEXT));
      expect(placeholdersIn(ASL_TEXT)).toEqual(Object.keys(TASK_HANDLERS).sort());
      for (const [placeholder, handler] of Object.entries(TASK_HANDLERS)) {
        expect(substitutions[placeholder], placeholder).toEqual(getAttArn(functionId(pipeline, handler)));
      }
      // Nothing else in the deployed definition is left for CloudFormation to fill in.
      expect(placeholdersIn(machine.Properties.DefinitionString)).toEqual(placeholdersIn(ASL_TEXT));
    });

    it("is the ASL file, with the stage's Map MaxConcurrency and execution timeout", () => {
      const { pipeline, config } = t();
      const deployed = definitionOf(pipeline);
      const file = JSON.parse(ASL_TEXT);
      file.States.ProcessChunks.MaxConcurrency = config.ingest.mapMaxConcurrency;
      file.TimeoutSeconds = config.ingest.executionTimeoutMinutes * 60;
      expect(deployed).toEqual(file);
    });

    it("fans out over the chunks with a Map that retries RetryableError and falls to MarkFailed", () => {
      const { pipeline, config } = t();
      const map = definitionOf(pipeline).States.ProcessChunks;
      expect(map.Type).toBe("Map");
      expect(map.ItemsPath).toBe("$.chunks");
      expect(map.MaxConcurrency).toBe(config.ingest.mapMaxConcurrency);

      const chunkTask = map.ItemProcessor.States[map.ItemProcessor.StartAt];
      expect(chunkTask.Type).toBe("Task");
      expect(chunkTask.Parameters.FunctionName).toBe("${ProcessChunkFunctionArn}");
      const retry = (chunkTask.Retry as Json[]).find((r) => r.ErrorEquals.includes("RetryableError"));
      expect(retry, "a Retry on RetryableError").toBeDefined();
      expect(retry.MaxAttempts).toBeGreaterThanOrEqual(2);
      expect(retry.BackoffRate).toBeGreaterThan(1);

      expect(map.Catch).toEqual([expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: "MarkFailed" })]);
    });

    it("may invoke exactly its task Lambdas (and their versions), nothing else", () => {
      const { pipeline } = t();
      const [, machine] = ingestMachine(pipeline);
      const roleId: string = machine.Properties.RoleArn["Fn::GetAtt"][0];
      const statements = Object.values(resources(pipeline, "AWS::IAM::Policy"))
        .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
        .flatMap((p) => statementsOf(p.Properties));

      expect(statements.every((s) => s.Effect === "Allow" && s.Action === "lambda:InvokeFunction")).toBe(true);
      const granted = statements
        .flatMap((s) => asList(s.Resource))
        .map((r) => JSON.stringify(r))
        .sort();
      const expected = Object.values(TASK_HANDLERS)
        .map((h) => functionId(pipeline, h))
        .flatMap((id) => [getAttArn(id), { "Fn::Join": ["", [getAttArn(id), ":*"]] }])
        .map((r) => JSON.stringify(r))
        .sort();
      expect(granted).toEqual(expected);
    });

    it("is a standard workflow", () => {
      const [, machine] = ingestMachine(t().pipeline);
      expect(machine.Properties.StateMachineType).toBe("STANDARD");
    });
  });

  describe("landing bucket and trigger", () => {
    it("sends ObjectCreated under inbox/ to the trigger Lambda", () => {
      const { pipeline } = t();
      const trigger = functionId(pipeline, "functions/trigger.handler");
      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      pipeline.hasResourceProperties("Custom::S3BucketNotifications", {
        BucketName: { Ref: bucketId },
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ["s3:ObjectCreated:*"],
              Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "inbox/" }] } },
              LambdaFunctionArn: getAttArn(trigger),
            },
          ],
        },
      });
      expectInvokePermission(pipeline, trigger, "s3.amazonaws.com", bucketId);
    });

    it("is private, encrypted and TLS-only", () => {
      const { pipeline } = t();
      pipeline.hasResourceProperties("AWS::S3::Bucket", {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      pipeline.hasResourceProperties("AWS::S3::BucketPolicy", {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    });

    it("expires staged chunk objects after the stage's retention", () => {
      const { pipeline, config } = t();
      pipeline.hasResourceProperties("AWS::S3::Bucket", {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Prefix: "staging/", ExpirationInDays: config.stagedChunkDays, Status: "Enabled" }),
          ]),
        },
      });
    });

    it("lets the trigger start executions of this state machine, and alerts when it keeps failing", () => {
      const { pipeline } = t();
      const trigger = functionId(pipeline, "functions/trigger.handler");
      const [machineId] = ingestMachine(pipeline);
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");

      const fn = resources(pipeline, "AWS::Lambda::Function")[trigger];
      expect(fn.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({ Ref: machineId });
      expect(roleStatements(pipeline, trigger)).toContainEqual(
        expect.objectContaining({ Action: "states:StartExecution", Resource: { Ref: machineId } }),
      );
      pipeline.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: trigger },
        DestinationConfig: { OnFailure: { Destination: { Ref: topicId } } },
      });
    });
  });

  describe("replay", () => {
    it("starts executions of this state machine, reads the bucket and writes only under replays/ and reports/", () => {
      const { pipeline } = t();
      const replay = functionId(pipeline, "functions/replay.handler");
      const [machineId] = ingestMachine(pipeline);
      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      const fn = resources(pipeline, "AWS::Lambda::Function")[replay];
      expect(fn.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({ Ref: machineId });
      const statements = roleStatements(pipeline, replay);
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: "states:StartExecution", Resource: { Ref: machineId } }),
      );
      const writes = statements.filter((s) => asList(s.Action).some((a: string) => /^s3:(Put|Delete|Abort)/.test(a)));
      // reports/: an original whose execution is gone ends FAILED with its reports before it is replayed.
      expect(writes).toHaveLength(2);
      expect(writes.flatMap((w) => asList(w.Action)).some((a: string) => a.startsWith("s3:Delete"))).toBe(false);
      expect(writes.map((w) => w.Resource)).toEqual([
        { "Fn::Join": ["", [getAttArn(bucketId), "/replays/*"]] },
        { "Fn::Join": ["", [getAttArn(bucketId), "/reports/*"]] },
      ]);
    });
  });

  describe("crash recovery", () => {
    it("runs on the stage's schedule, describes and starts executions of this state machine only, alerting when it keeps failing", () => {
      const { pipeline, config } = t();
      const recover = functionId(pipeline, "functions/recover-imports.handler");
      const [machineId, machine] = ingestMachine(pipeline);
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const [ruleId, rule] = scheduleOf(pipeline, recover);
      expect(rule.Properties).toMatchObject({ ScheduleExpression: config.schedules.recoverImports, State: "ENABLED" });
      expectInvokePermission(pipeline, recover, "events.amazonaws.com", ruleId);
      expectFailuresAlerted(pipeline, recover);

      const fn = resources(pipeline, "AWS::Lambda::Function")[recover];
      expect(fn.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({ Ref: machineId });
      const statements = roleStatements(pipeline, recover);
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: "states:StartExecution", Resource: { Ref: machineId } }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Action: "sns:Publish", Resource: { Ref: topicId } }));
      const describe = statements.filter((s) => asList(s.Action).includes("states:DescribeExecution"));
      expect(describe).toHaveLength(1);
      // arn:<partition>:states:<region>:<account>:execution:<this machine's name>:*
      const arn = JSON.stringify(describe[0].Resource);
      expect(arn).toContain(":execution:");
      expect(arn).toContain(JSON.stringify({ "Fn::GetAtt": [machineId, "Name"] }));
      expect(machine.Type).toBe("AWS::StepFunctions::StateMachine");
    });

    it("resumes a recovered import at its chunks: a Choice before Validate sends {resume: true} to the Resume task", () => {
      const definition = definitionOf(t().pipeline);
      expect(definition.StartAt).toBe("IsResume");
      expect(definition.States.IsResume.Default).toBe("Validate");
      expect(definition.States.IsResume.Choices).toEqual([expect.objectContaining({ Next: "Resume" })]);
      expect(definition.States.Resume).toMatchObject({ Type: "Task", Next: "ProcessChunks" });
      expect(definition.States.Resume.Parameters.FunctionName).toBe("${ResumeFunctionArn}");
      expect(definition.States.Resume.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: "MarkFailed" }),
      ]);
    });
  });

  describe("Lambdas", () => {
    it("are the handlers in functions/, on a current Node.js runtime", () => {
      const { pipeline } = t();
      const fns = leadpipeFunctions(pipeline);
      expect(
        Object.values(fns)
          .map((f) => f.Properties.Handler)
          .sort(),
      ).toEqual(ALL_HANDLERS);
      for (const f of Object.values(fns)) {
        expect(f.Properties.Runtime).toMatch(/^nodejs(20|22)\.x$/);
        expect(f.Properties.TracingConfig).toBeUndefined();
      }
    });

    it("give stage and process-chunk more memory and up to 15 minutes", () => {
      const { pipeline } = t();
      for (const handler of ["functions/stage.handler", "functions/process-chunk.handler"]) {
        const f = resources(pipeline, "AWS::Lambda::Function")[functionId(pipeline, handler)];
        expect(f.Properties.MemorySize, handler).toBeGreaterThanOrEqual(2048);
        expect(f.Properties.Timeout, handler).toBe(900);
      }
    });

    it("carry the environment the handlers read", () => {
      const { pipeline, database, stage, config } = t();
      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const master = attachmentOf(database, "leadpipe");
      const pipelineRole = attachmentOf(database, "leadpipe_pipeline");
      const readonlyRole = attachmentOf(database, "leadpipe_readonly");
      const consoleRole = attachmentOf(database, "leadpipe_console");
      for (const [id, f] of Object.entries(leadpipeFunctions(pipeline))) {
        const env = f.Properties.Environment.Variables;
        expect(env, id).toMatchObject({
          LANDING_BUCKET: { Ref: bucketId },
          ALERT_TOPIC_ARN: { Ref: topicId },
          LEADPIPE_STAGE: stage,
          CHUNK_ROWS: String(config.ingest.chunkRows),
          NODE_OPTIONS: "--enable-source-maps",
        });
        // The master user is for migrations only; every other Lambda logs in as the pipeline role.
        if (f.Properties.Handler === MIGRATE) {
          expect(exported(database, env.DATABASE_SECRET_ARN), id).toEqual({ Ref: master });
          expect(exported(database, env.PIPELINE_SECRET_ARN), id).toEqual({ Ref: pipelineRole });
          expect(exported(database, env.READONLY_SECRET_ARN), id).toEqual({ Ref: readonlyRole });
          expect(exported(database, env.CONSOLE_SECRET_ARN), id).toEqual({ Ref: consoleRole });
        } else {
          expect(exported(database, env.DATABASE_SECRET_ARN), id).toEqual({ Ref: pipelineRole });
          expect(env.PIPELINE_SECRET_ARN, id).toBeUndefined();
          expect(env.READONLY_SECRET_ARN, id).toBeUndefined();
          expect(env.CONSOLE_SECRET_ARN, id).toBeUndefined();
        }
        if (!STARTERS.includes(f.Properties.Handler)) expect(env.STATE_MACHINE_ARN, id).toBeUndefined();
      }
    });

    it("run in the VPC's private app subnets with the security group Aurora admits", () => {
      const { pipeline, database } = t();
      const subnets = resources(database, "AWS::EC2::Subnet");
      const [, cluster] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      const [clusterSgId] = cluster.Properties.VpcSecurityGroupIds.map((sg: Json) => sg["Fn::GetAtt"][0]);
      const ingress = only(resources(database, "AWS::EC2::SecurityGroupIngress"), "ingress rule")[1].Properties;
      // The cluster listens on 5432; the rule opens the cluster's port (a GetAtt of it) and nothing more.
      expect(cluster.Properties.Port).toBe(5432);
      const [clusterId] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      const clusterPort = { "Fn::GetAtt": [clusterId, "Endpoint.Port"] };
      expect(ingress).toMatchObject({ IpProtocol: "tcp", FromPort: clusterPort, ToPort: clusterPort });
      expect(ingress.GroupId).toEqual({ "Fn::GetAtt": [clusterSgId, "GroupId"] });

      for (const [id, f] of Object.entries(leadpipeFunctions(pipeline))) {
        const vpc = f.Properties.VpcConfig;
        expect(vpc, id).toBeDefined();
        expect(vpc.SubnetIds.length).toBeGreaterThanOrEqual(2);
        for (const subnet of vpc.SubnetIds) {
          const subnetId: string = exported(database, subnet).Ref;
          expect(subnetTags(subnets[subnetId])["aws-cdk:subnet-type"], `${id} subnet ${subnetId}`).toBe("Private");
          expect(subnets[subnetId].Properties.MapPublicIpOnLaunch).toBe(false);
        }
        expect(vpc.SecurityGroupIds).toHaveLength(1);
        expect(exported(database, vpc.SecurityGroupIds[0])).toEqual(ingress.SourceSecurityGroupId);
      }
    });

    it("read their own database secret and nothing else in Secrets Manager; VPC access from the AWS managed policy", () => {
      const { pipeline, database } = t();
      const [master, pipelineRole, readonlyRole, consoleRole] = [
        "leadpipe",
        "leadpipe_pipeline",
        "leadpipe_readonly",
        "leadpipe_console",
      ].map((u) => attachmentOf(database, u));
      for (const [id, f] of Object.entries(leadpipeFunctions(pipeline))) {
        const secretStatements = roleStatements(pipeline, id).filter((s) =>
          asList(s.Action).some((a: string) => a.startsWith("secretsmanager:")),
        );
        expect(secretStatements, id).toHaveLength(1);
        expect(secretStatements[0].Action).toBe("secretsmanager:GetSecretValue");
        const readable = asList(secretStatements[0].Resource).map((r: Json) => exported(database, r));
        // Only the migrate function reads the master secret (and sets the roles' passwords from theirs).
        expect(readable, id).toEqual(
          f.Properties.Handler === MIGRATE
            ? [{ Ref: master }, { Ref: pipelineRole }, { Ref: readonlyRole }, { Ref: consoleRole }]
            : [{ Ref: pipelineRole }],
        );

        const fn = resources(pipeline, "AWS::Lambda::Function")[id];
        const role = resources(pipeline, "AWS::IAM::Role")[fn.Properties.Role["Fn::GetAtt"][0]];
        expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain(
          "service-role/AWSLambdaVPCAccessExecutionRole",
        );
      }
    });

    it("apply the migrations on deploy with the SQL files bundled, before the other handlers update", () => {
      const { pipeline } = t();
      const migrate = functionId(pipeline, "functions/migrate.handler");
      const [scriptId, script] = only(resources(pipeline, "Custom::SSTScript"), "migration script");
      expect(script.Properties).toMatchObject({
        UserCreateFunction: { Ref: migrate },
        UserUpdateFunction: { Ref: migrate },
        Version: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
      const env = resources(pipeline, "AWS::Lambda::Function")[migrate].Properties.Environment.Variables;
      expect(env.SQL_DIR).toBe("/var/task/sql");
      for (const [id, f] of Object.entries(leadpipeFunctions(pipeline))) {
        if (id === migrate) continue;
        expect(f.DependsOn, id).toContain(scriptId);
      }
    });
  });

  describe("schedules and alerts", () => {
    it("refreshes the reporting views nightly on the stage's schedule", () => {
      const { pipeline, config } = t();
      const refresh = functionId(pipeline, "functions/refresh-views.handler");
      const [ruleId, rule] = scheduleOf(pipeline, refresh);
      expect(rule.Properties).toMatchObject({ ScheduleExpression: config.schedules.refreshViews, State: "ENABLED" });
      expectInvokePermission(pipeline, refresh, "events.amazonaws.com", ruleId);
    });

    it("runs the people loop after every succeeded ingest execution and on a catch-up schedule, alerting when it fails", () => {
      const { pipeline, config } = t();
      const people = functionId(pipeline, "functions/resolve-people.handler");
      const [ingestId] = ingestMachine(pipeline);
      const machines = resources(pipeline, "AWS::StepFunctions::StateMachine");
      const [loopId, loop] = only(
        Object.fromEntries(Object.entries(machines).filter(([id]) => id.startsWith("PeopleLoop"))),
        "people loop",
      );
      // stacks/people.asl.json, its one task bound to the consumer, which the loop alone may invoke.
      expect(loop.Properties.DefinitionSubstitutions).toEqual({ ResolvePeopleFunctionArn: getAttArn(people) });
      const definition = JSON.parse(loop.Properties.DefinitionString);
      expect(definition).toEqual(JSON.parse(readFileSync(path.join(PROJECT_ROOT, "stacks/people.asl.json"), "utf8")));
      expect(definition.States.ResolvePeople.Parameters.FunctionName).toBe("${ResolvePeopleFunctionArn}");
      const loopRole = loop.Properties.RoleArn["Fn::GetAtt"][0];
      const invoke = Object.values(resources(pipeline, "AWS::IAM::Policy"))
        .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === loopRole))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
      expect([...new Set(invoke.flatMap((st: Json) => asList(st.Action)))]).toEqual(["lambda:InvokeFunction"]);
      expect(JSON.stringify(invoke)).toContain(people);

      const targeting = (r: Json) => (r.Properties.Targets as Json[]).map((x) => x.Arn);
      const rules = Object.entries(resources(pipeline, "AWS::Events::Rule"));
      const [, schedule] = only(
        Object.fromEntries(rules.filter(([, r]) => r.Properties.ScheduleExpression === config.schedules.resolvePeople)),
        "people schedule",
      );
      expect(targeting(schedule)).toEqual([{ Ref: loopId }]);
      const onSuccess = rules.filter(([, r]) => r.Properties.EventPattern?.detail?.status?.includes("SUCCEEDED"));
      expect(onSuccess).toHaveLength(1);
      const [, rule] = onSuccess[0]!;
      expect(rule.Properties.EventPattern).toEqual({
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { status: ["SUCCEEDED"], stateMachineArn: [{ Ref: ingestId }] },
      });
      expect(targeting(rule)).toEqual([{ Ref: loopId }]);
      // Nothing else invokes the consumer: no rule targets it directly.
      expect(rules.filter(([, r]) => JSON.stringify(targeting(r)).includes(people))).toEqual([]);
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const failed = rules.filter(([, r]) =>
        JSON.stringify(r.Properties.EventPattern?.detail?.stateMachineArn ?? []).includes(loopId),
      );
      expect(failed).toHaveLength(1);
      expect(failed[0]![1].Properties.EventPattern.detail.status).toEqual(["FAILED", "TIMED_OUT", "ABORTED"]);
      expect(targeting(failed[0]![1])).toEqual([{ Ref: topicId }]);
      // Not a state of the ingest machine: people never hold up the import that landed them.
      expect(ASL_TEXT).not.toMatch(/ResolvePeople/);
    });

    it("hands off the day's leads on the stage's schedule, writing only under outbox/leads/, alerting when it keeps failing", () => {
      const { pipeline, config } = t();
      const handoff = functionId(pipeline, "functions/lead-handoff.handler");
      const [ruleId, rule] = scheduleOf(pipeline, handoff);
      expect(rule.Properties).toMatchObject({ ScheduleExpression: config.schedules.leadHandoff, State: "ENABLED" });
      expectInvokePermission(pipeline, handoff, "events.amazonaws.com", ruleId);

      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      const s3Statements = roleStatements(pipeline, handoff).filter((s) =>
        asList(s.Action).some((a: string) => a.startsWith("s3:")),
      );
      expect(s3Statements).toHaveLength(1);
      expect(asList(s3Statements[0].Action)).toContain("s3:PutObject");
      expect(asList(s3Statements[0].Action).some((a: string) => /^s3:(Get|Delete|List)/.test(a))).toBe(false);
      expect(s3Statements[0].Resource).toEqual({ "Fn::Join": ["", [getAttArn(bucketId), "/outbox/leads/*"]] });

      expectFailuresAlerted(pipeline, handoff);
    });

    it("publishes audiences on demand and on each campaign schedule of the stage, writing only under outbox/audiences/", () => {
      const { pipeline, config } = t();
      const publish = functionId(pipeline, "functions/publish-audience.handler");
      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      const statements = roleStatements(pipeline, publish);
      const s3Statements = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("s3:")));
      expect(s3Statements).toHaveLength(1);
      expect(asList(s3Statements[0].Action)).toContain("s3:PutObject");
      expect(asList(s3Statements[0].Action).some((a: string) => /^s3:(Get|Delete|List)/.test(a))).toBe(false);
      expect(s3Statements[0].Resource).toEqual({ "Fn::Join": ["", [getAttArn(bucketId), "/outbox/audiences/*"]] });
      // The bucket and the database secret, nothing else (no states:, sns: or other actions).
      expect(
        statements.flatMap((s) => asList(s.Action)).filter((a: string) => !/^(s3|secretsmanager):/.test(a)),
      ).toEqual([]);
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      pipeline.hasResourceProperties("AWS::CloudWatch::Alarm", {
        MetricName: "Errors",
        Namespace: "AWS/Lambda",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: publish } }],
        Threshold: 1,
        AlarmActions: [{ Ref: topicId }],
      });

      const rules = Object.entries(
        pipeline.findResources("AWS::Events::Rule", { Properties: { ScheduleExpression: Match.anyValue() } }),
      ).filter(([, r]) =>
        (r.Properties.Targets as Json[]).some(
          (target) => JSON.stringify(target.Arn) === JSON.stringify(getAttArn(publish)),
        ),
      );
      expect(rules.map(([, r]) => r.Properties.ScheduleExpression)).toEqual(
        config.audienceSchedules.map((a) => a.schedule),
      );
      for (const [[ruleId, rule], a] of rules.map((r, i) => [r, config.audienceSchedules[i]!] as const)) {
        const target = (rule.Properties.Targets as Json[])[0];
        expect(target.InputTransformer.InputPathsMap).toEqual({ time: "$.time" });
        expect(JSON.parse(target.InputTransformer.InputTemplate.replace("<time>", '"T"'))).toEqual({
          campaign: a.campaign,
          channel: a.channel,
          time: "T",
        });
        expectInvokePermission(pipeline, publish, "events.amazonaws.com", ruleId);
      }
      if (key === "prod")
        expect(rules).toHaveLength(1); // recent-bookers on e-mail, weekly
      else expect(rules).toHaveLength(0); // development: on demand only
    });

    it("publishes FAILED, TIMED_OUT and ABORTED executions of this state machine to the alert topic", () => {
      const { pipeline } = t();
      const [machineId] = ingestMachine(pipeline);
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const [, rule] = only(
        pipeline.findResources("AWS::Events::Rule", {
          Properties: {
            EventPattern: { detail: { status: Match.arrayWith(["FAILED"]), stateMachineArn: [{ Ref: machineId }] } },
          },
        }),
        "alert rule",
      );
      const pattern = rule.Properties.EventPattern;
      expect(pattern.source).toEqual(["aws.states"]);
      expect(pattern["detail-type"]).toEqual(["Step Functions Execution Status Change"]);
      expect([...pattern.detail.status].sort()).toEqual(["ABORTED", "FAILED", "TIMED_OUT"]);
      expect(pattern.detail.stateMachineArn).toEqual([{ Ref: machineId }]);
      expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topicId } })]);

      pipeline.hasResourceProperties("AWS::SNS::TopicPolicy", {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Allow",
              Action: "sns:Publish",
              Principal: { Service: "events.amazonaws.com" },
              Resource: { Ref: topicId },
            }),
          ]),
        },
      });
    });

    it("admits to the alert topic's policy only its own rules and alarm (aws:SourceArn); functions publish through their roles", () => {
      const { pipeline } = t();
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const topic = JSON.stringify({ Ref: topicId });
      const [, policy] = only(resources(pipeline, "AWS::SNS::TopicPolicy"), "topic policy");
      expect(policy.Properties.Topics).toEqual([{ Ref: topicId }]);

      const rules = Object.entries(resources(pipeline, "AWS::Events::Rule"))
        .filter(([, r]) => (r.Properties.Targets as Json[]).some((target) => JSON.stringify(target.Arn) === topic))
        .map(([id]) => id);
      const alarms = Object.entries(resources(pipeline, "AWS::CloudWatch::Alarm"))
        .filter(([, a]) =>
          ((a.Properties.AlarmActions ?? []) as Json[]).some((action) => JSON.stringify(action) === topic),
        )
        .map(([id]) => id);
      expect(rules).toHaveLength(2); // executions of the ingest machine and of the people loop ending FAILED, TIMED_OUT or ABORTED
      expect(alarms).toHaveLength(1); // a failed audience publish

      const statements = statementsOf(policy.Properties);
      for (const s of statements) {
        expect(s).toMatchObject({ Effect: "Allow", Action: "sns:Publish", Resource: { Ref: topicId } });
        expect(Object.keys(s.Principal), "only service principals, no account or role").toEqual(["Service"]);
      }
      const admitted = (ss: Array<{ service: string; source: Json }>) => ss.map((x) => JSON.stringify(x)).sort();
      expect(admitted(statements.map((s) => ({ service: s.Principal.Service, source: s.Condition })))).toEqual(
        admitted([
          ...rules.map((id) => ({
            service: "events.amazonaws.com",
            source: { ArnEquals: { "aws:SourceArn": getAttArn(id) } },
          })),
          ...alarms.map((id) => ({
            service: "cloudwatch.amazonaws.com",
            source: { ArnEquals: { "aws:SourceArn": getAttArn(id) } },
          })),
        ]),
      );

      // The functions that alert (mark-failed itself; the others through their on-failure destination)
      // publish through their execution roles.
      for (const handler of ["mark-failed", "trigger", "resolve-people", "refresh-views", "lead-handoff"]) {
        expect(roleStatements(pipeline, functionId(pipeline, `functions/${handler}.handler`)), handler).toContainEqual(
          expect.objectContaining({ Action: "sns:Publish", Resource: { Ref: topicId } }),
        );
      }
    });

    it("lets mark-failed publish to the alert topic", () => {
      const { pipeline } = t();
      const [topicId] = only(resources(pipeline, "AWS::SNS::Topic"), "topic");
      const markFailed = functionId(pipeline, "functions/mark-failed.handler");
      expect(roleStatements(pipeline, markFailed)).toContainEqual(
        expect.objectContaining({ Action: "sns:Publish", Resource: { Ref: topicId } }),
      );
    });
  });

  describe("Aurora PostgreSQL Serverless v2", () => {
    it("scales between the stage's min and max ACUs", () => {
      const { database, config } = t();
      const [, cluster] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      expect(cluster.Properties).toMatchObject({
        Engine: "aurora-postgresql",
        EngineVersion: expect.stringMatching(/^1[6-9]\./),
        StorageEncrypted: true,
        ServerlessV2ScalingConfiguration: {
          MinCapacity: config.database.minCapacity,
          MaxCapacity: config.database.maxCapacity,
        },
      });
    });

    it("has a db.serverless writer (and the stage's readers)", () => {
      const { database, config } = t();
      const [clusterId] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      const instances = Object.values(resources(database, "AWS::RDS::DBInstance"));
      expect(instances).toHaveLength(1 + config.database.readers);
      for (const instance of instances) {
        expect(instance.Properties).toMatchObject({
          DBClusterIdentifier: { Ref: clusterId },
          DBInstanceClass: "db.serverless",
          PubliclyAccessible: false,
        });
      }
      expect(instances.filter((i) => i.Properties.PromotionTier === 0)).toHaveLength(1);
    });

    it("lives in isolated private subnets", () => {
      const { database } = t();
      const [groupId, group] = only(resources(database, "AWS::RDS::DBSubnetGroup"), "subnet group");
      const [, cluster] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      expect(cluster.Properties.DBSubnetGroupName).toEqual({ Ref: groupId });
      const subnets = resources(database, "AWS::EC2::Subnet");
      expect(group.Properties.SubnetIds.length).toBeGreaterThanOrEqual(2);
      for (const { Ref: subnetId } of group.Properties.SubnetIds) {
        expect(subnetTags(subnets[subnetId])["aws-cdk:subnet-type"], subnetId).toBe("Isolated");
        expect(subnets[subnetId].Properties.MapPublicIpOnLaunch).toBe(false);
      }
    });

    it("keeps its credentials in a generated Secrets Manager secret attached to the cluster", () => {
      const { database } = t();
      const [clusterId, cluster] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      const secrets = resources(database, "AWS::SecretsManager::Secret");
      const [secretId, secret] = only(
        Object.fromEntries(
          Object.entries(secrets).filter(([id]) => JSON.stringify(cluster.Properties.MasterUserPassword).includes(id)),
        ),
        "master secret",
      );
      expect(secret.Properties.GenerateSecretString).toMatchObject({ GenerateStringKey: "password" });
      database.hasResourceProperties("AWS::SecretsManager::SecretTargetAttachment", {
        SecretId: { Ref: secretId },
        TargetId: { Ref: clusterId },
        TargetType: "AWS::RDS::DBCluster",
      });
    });

    it("gives the pipeline, read-only and console roles their own generated secrets, attached to the cluster", () => {
      const { database } = t();
      const [clusterId] = only(resources(database, "AWS::RDS::DBCluster"), "cluster");
      const attachments = resources(database, "AWS::SecretsManager::SecretTargetAttachment");
      for (const user of ["leadpipe_pipeline", "leadpipe_readonly", "leadpipe_console"]) {
        const attachment = attachments[attachmentOf(database, user)];
        expect(attachment.Properties.TargetId, user).toEqual({ Ref: clusterId });
        const secret = resources(database, "AWS::SecretsManager::Secret")[attachment.Properties.SecretId.Ref];
        expect(secret.Properties.GenerateSecretString, user).toMatchObject({ GenerateStringKey: "password" });
        expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate), user).toMatchObject({
          username: user,
          dbname: "leadpipe",
        });
      }
    });
  });

  describe("IAM", () => {
    it("lets each function read and write only its own prefixes of the landing bucket, and delete nothing", () => {
      const { pipeline } = t();
      const [bucketId] = only(resources(pipeline, "AWS::S3::Bucket"), "bucket");
      const handlers = Object.values(leadpipeFunctions(pipeline)).map((f) => String(f.Properties.Handler));
      for (const handler of Object.keys(S3_PREFIXES)) expect(handlers, handler).toContain(handler);
      for (const handler of handlers) {
        const expected = S3_PREFIXES[handler] ?? { read: [], write: [] };
        const access = s3AccessOf(pipeline, functionId(pipeline, handler), bucketId);
        expect(access, handler).toEqual({
          read: [...expected.read].sort(),
          write: [...expected.write].sort(),
          problems: [],
        });
      }
    });

    it("grants no S3 action on another bucket or on every bucket", () => {
      const [bucketId] = only(resources(t().pipeline, "AWS::S3::Bucket"), "bucket");
      const bucketArn = JSON.stringify(getAttArn(bucketId));
      const offenders = inlineStatements(t().pipeline)
        .filter(({ statement }) => asList(statement.Action).some((a: string) => a.startsWith("s3:")))
        .filter(({ statement }) => asList(statement.Resource).some((r) => !JSON.stringify(r).includes(bucketArn)))
        // CDK's bucket-notification helper sets the notification configuration of this bucket by name.
        .filter(
          ({ statement }) => JSON.stringify(asList(statement.Action)) !== JSON.stringify(["s3:PutBucketNotification"]),
        )
        .map(
          ({ owner, statement }) =>
            `${owner}: ${JSON.stringify(statement.Action)} on ${JSON.stringify(statement.Resource)}`,
        );
      expect(offenders).toEqual([]);
    });

    it('names specific resources in every inline statement (no Resource "*")', () => {
      const offenders = (["database", "pipeline"] as const).flatMap((stack) =>
        inlineStatements(t()[stack])
          .filter(({ statement }) => statement.NotResource !== undefined || asList(statement.Resource).includes("*"))
          .filter(
            ({ owner, statement }) =>
              !WILDCARD_ALLOW_LIST.some(
                (allowed) =>
                  allowed.stack === stack &&
                  allowed.resource === owner &&
                  JSON.stringify(asList(statement.Action).sort()) === JSON.stringify([...allowed.actions].sort()),
              ),
          )
          .map(({ owner, statement }) => `${stack}/${owner}: ${JSON.stringify(statement.Action)}`),
      );
      expect(offenders).toEqual([]);
    });
  });
});

describe("production vs development", () => {
  it("production keeps the cluster, its secret and the landing bucket; development destroys them", () => {
    const { dev, prod } = tenants;
    for (const [tenant, policy] of [
      [prod, "Retain"],
      [dev, "Delete"],
    ] as const) {
      const [, cluster] = only(resources(tenant.database, "AWS::RDS::DBCluster"), "cluster");
      expect(cluster.DeletionPolicy, `${tenant.stage} cluster`).toBe(policy);
      // The master's and the login roles' secrets: without them nobody logs in to a retained cluster.
      const secrets = Object.values(resources(tenant.database, "AWS::SecretsManager::Secret"));
      expect(secrets).toHaveLength(4);
      for (const r of secrets) expect(r.DeletionPolicy, `${tenant.stage} secret`).toBe(policy);
      const [, bucket] = only(resources(tenant.pipeline, "AWS::S3::Bucket"), "bucket");
      expect(bucket.DeletionPolicy, `${tenant.stage} bucket`).toBe(policy);
    }
    expect(only(resources(prod.database, "AWS::RDS::DBCluster"), "cluster")[1].Properties.DeletionProtection).toBe(
      true,
    );
    expect(only(resources(dev.database, "AWS::RDS::DBCluster"), "cluster")[1].Properties.DeletionProtection).toBe(
      false,
    );
    // Development buckets are emptied on removal; production buckets keep versions of every file.
    expect(Object.keys(resources(dev.pipeline, "Custom::S3AutoDeleteObjects"))).toHaveLength(1);
    expect(Object.keys(resources(prod.pipeline, "Custom::S3AutoDeleteObjects"))).toHaveLength(0);
    prod.pipeline.hasResourceProperties("AWS::S3::Bucket", { VersioningConfiguration: { Status: "Enabled" } });
  });

  it("production scales further and fans out wider", () => {
    const { dev, prod } = tenants;
    const scaling = (t: Tenant) =>
      only(resources(t.database, "AWS::RDS::DBCluster"), "cluster")[1].Properties.ServerlessV2ScalingConfiguration;
    expect(scaling(prod).MaxCapacity).toBeGreaterThan(scaling(dev).MaxCapacity);
    expect(scaling(prod).MinCapacity).toBeGreaterThan(0); // never paused
    expect(scaling(dev)).toMatchObject({
      MinCapacity: 0,
      SecondsUntilAutoPause: dev.config.database.autoPauseMinutes * 60,
    });
    expect(definitionOf(prod.pipeline).States.ProcessChunks.MaxConcurrency).toBeGreaterThan(
      definitionOf(dev.pipeline).States.ProcessChunks.MaxConcurrency,
    );
    expect(Object.keys(resources(prod.database, "AWS::RDS::DBInstance")).length).toBeGreaterThan(
      Object.keys(resources(dev.database, "AWS::RDS::DBInstance")).length,
    );
  });

  it("the test stage is listed with the development profile, prod with the production profile", () => {
    expect(tenants.dev.config).toEqual(stageConfig("dev"));
    expect(tenants.dev.config.retainData).toBe(false);
    expect(tenants.prod.config.retainData).toBe(true);
    expect(stageNames()).toEqual(expect.arrayContaining(["ci", "dev", "local", "prod", "test"]));
  });

  it("names every stack after its stage", () => {
    for (const tenant of Object.values(tenants)) {
      expect(tenant.stackNames).toEqual([`${tenant.stage}-leadpipe-Database`, `${tenant.stage}-leadpipe-Pipeline`]);
    }
  });
});
