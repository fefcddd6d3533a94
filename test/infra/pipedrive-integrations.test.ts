/**
 * The integrations' infrastructure, synthesized offline for the "integrations-example" stage
 * (stacks/config.ts, EXAMPLE_INTEGRATIONS): EventBridge Scheduler schedules in the system's time
 * zone, and the sync Lambda limited to its own secret (read only), the pipeline's database secret
 * and the alert topic.
 */
import path from "node:path";
import { rmSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";
import { Integrations } from "../../stacks/Integrations";

type Json = any; // CloudFormation fragments

let resources: Record<string, Json>;

beforeAll(async () => {
  const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", "integrations-example");
  rmSync(outdir, { recursive: true, force: true });
  await synthesize("integrations-example", outdir);
  resources = Template.fromStack(getStack(Integrations)).toJSON().Resources as Record<string, Json>;
}, 600_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe("integration syncs in AWS", () => {
  it("runs the Pipedrive sync incrementally and in full on its crons, in its time zone", () => {
    const schedules = ofType("AWS::Scheduler::Schedule")
      .map(([, r]) => r.Properties)
      .map((p: Json) => [p.ScheduleExpression, p.ScheduleExpressionTimezone, JSON.parse(p.Target.Input)])
      .sort();
    expect(schedules).toEqual([
      ["cron(0/15 7-19 ? * 2-6 *)", "America/New_York", {}],
      ["cron(30 2 ? * 1 *)", "America/New_York", { full: true }],
    ]);
  });

  it("keeps the connection in a secret of its own that only the sync Lambda may read, and nothing more", () => {
    const [[secretId, secret]] = ofType("AWS::SecretsManager::Secret") as [[string, Json]];
    expect(secret.Properties.Name).toBe("leadpipe/integrations-example/integrations/pipedrive");
    const fns = ofType("AWS::Lambda::Function").filter(([, r]) => r.Properties.Environment?.Variables?.SYNC_SYSTEM);
    expect(fns).toHaveLength(1);
    const fn = fns[0]![1];
    expect(fn.Properties.Handler).toMatch(/sync\.handler$/);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SYNC_SYSTEM: "pipedrive",
      INTEGRATION_SECRET_ARN: { Ref: secretId },
    });
    expect(JSON.stringify(fn.Properties.Environment.Variables)).not.toMatch(/api_token/);
    const roleId = fn.Properties.Role["Fn::GetAtt"][0];
    const statements = ofType("AWS::IAM::Policy")
      .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: Json) => [s.Action].flat()).sort();
    expect(actions.filter((a: string) => a.startsWith("secretsmanager:"))).toEqual(["secretsmanager:GetSecretValue"]);
    expect(actions.some((a: string) => a.startsWith("s3:"))).toBe(false);
    const secretStatement = statements.find((s: Json) => [s.Action].flat().includes("secretsmanager:GetSecretValue"));
    const readable = JSON.stringify(secretStatement.Resource);
    expect(readable).toContain(secretId);
    expect(readable).toContain("PipelineSecret");
    expect(readable).not.toMatch(/ReadonlySecret|ClusterSecret/);
    // the secret's own policy grants nobody else anything
    expect(ofType("AWS::SecretsManager::ResourcePolicy")).toEqual([]);
  });

  it("lets the scheduler's role invoke only the sync function", () => {
    const statements = ofType("AWS::IAM::Policy")
      .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes("SyncSchedulerRole"))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) expect([s.Action].flat()).toEqual(["lambda:InvokeFunction"]);
  });
});
