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

/** A system's secret, its sync Lambda and the statements of that Lambda's role. */
function syncOf(system: string) {
  const secrets = ofType("AWS::SecretsManager::Secret").filter(
    ([, r]) => r.Properties.Name === `leadpipe/integrations-example/integrations/${system}`,
  );
  expect(secrets).toHaveLength(1);
  const fns = ofType("AWS::Lambda::Function").filter(
    ([, r]) => r.Properties.Environment?.Variables?.SYNC_SYSTEM === system,
  );
  expect(fns).toHaveLength(1);
  const fn = fns[0]![1];
  const roleId = fn.Properties.Role["Fn::GetAtt"][0];
  const statements = ofType("AWS::IAM::Policy")
    .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(roleId))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
  return { secretId: secrets[0]![0], fn, statements };
}

describe("integration syncs in AWS", () => {
  it("runs the Pipedrive sync incrementally and in full on its crons, in its time zone", () => {
    const schedules = ofType("AWS::Scheduler::Schedule")
      .map(([, r]) => r.Properties)
      .map((p: Json) => [p.ScheduleExpression, p.ScheduleExpressionTimezone, JSON.parse(p.Target.Input)])
      .sort();
    expect(schedules).toEqual([
      ["cron(0/15 * * * ? *)", "America/Chicago", {}],
      ["cron(0/15 7-19 ? * 2-6 *)", "America/New_York", {}],
      ["cron(30 2 ? * 1 *)", "America/New_York", { full: true }],
    ]);
  });

  it("keeps the connection in a secret of its own that only the sync Lambda may read, and nothing more", () => {
    const { secretId, fn, statements } = syncOf("pipedrive");
    expect(fn.Properties.Handler).toMatch(/sync\.handler$/);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SYNC_SYSTEM: "pipedrive",
      INTEGRATION_SECRET_ARN: { Ref: secretId },
    });
    expect(JSON.stringify(fn.Properties.Environment.Variables)).not.toMatch(/api_token/);
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

  it("lets the RingCentral sync write back only its own secret's tokens and put only its call files", () => {
    const { secretId, statements } = syncOf("ringcentral");
    const put = statements.filter((s: Json) => [s.Action].flat().includes("secretsmanager:PutSecretValue"));
    expect(put).toHaveLength(1);
    expect(put[0].Resource).toEqual({ Ref: secretId });
    const s3 = statements.filter((s: Json) => [s.Action].flat().some((a: string) => a.startsWith("s3:")));
    expect(s3.flatMap((s: Json) => [s.Action].flat().filter((a: string) => !/^s3:(Put|Abort)/.test(a)))).toEqual([]);
    const objects = JSON.stringify(s3.map((s: Json) => s.Resource));
    expect(objects).toContain("/inbox/ringcentral-calls/*");
    expect(objects.match(/\/inbox\/[^"*]*\*/g)).toEqual(["/inbox/ringcentral-calls/*"]);
  });

  it("lets the scheduler's role invoke only the sync functions", () => {
    const statements = ofType("AWS::IAM::Policy")
      .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes("SyncSchedulerRole"))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) expect([s.Action].flat()).toEqual(["lambda:InvokeFunction"]);
  });
});
