/** The console's stack, synthesized offline (no AWS credentials): in the VPC, behind Cognito, least privilege. */
import { rmSync } from "node:fs";
import path from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";

type Json = any; // CloudFormation fragments
let t: Template;
let fnId: string;

beforeAll(async () => {
  const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", "console");
  rmSync(outdir, { recursive: true, force: true });
  const { stacks } = await synthesize("test", outdir);
  t = Template.fromStack(stacks.console);
  const fns = t.findResources("AWS::Lambda::Function", { Properties: { Handler: "functions/console.handler" } });
  expect(Object.keys(fns)).toHaveLength(1);
  fnId = Object.keys(fns)[0]!;
}, 600_000);

describe("the console stack", () => {
  it("runs the app's Lambda in the VPC's app subnets with the database's function security group", () => {
    const fn = t.findResources("AWS::Lambda::Function")[fnId]!;
    expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      DATABASE_SECRET_ARN: expect.anything(),
      READONLY_SECRET_ARN: expect.anything(),
      LANDING_BUCKET: expect.anything(),
    });
  });

  it("has a Cognito user pool per stage: no sign-up, a group per console role, a public client for InitiateAuth", () => {
    t.resourceCountIs("AWS::Cognito::UserPool", 1);
    const pool = Object.values(t.findResources("AWS::Cognito::UserPool"))[0] as Json;
    expect(pool.Properties.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(pool.Properties.UserPoolName).toBe("leadpipe-test-console");
    expect(pool.Properties.Policies.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
    const groups = (Object.values(t.findResources("AWS::Cognito::UserPoolGroup")) as Json[]).map((g) => [
      g.Properties.GroupName,
      g.Properties.Precedence,
    ]);
    expect(groups.sort((a, b) => a[1] - b[1])).toEqual([
      ["admin", 0],
      ["ops", 1],
      ["steward", 2],
      ["marketer", 3],
      ["analyst", 4],
    ]);
    const clients = Object.values(t.findResources("AWS::Cognito::UserPoolClient")) as Json[];
    expect(clients).toHaveLength(1);
    const client = clients[0]!.Properties;
    expect(client.GenerateSecret).toBe(false);
    expect(client.ExplicitAuthFlows.sort()).toEqual(["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(false);
    expect(client.PreventUserExistenceErrors).toBe("ENABLED");
    // The app verifies tokens of this pool and this client only.
    const vars = t.findResources("AWS::Lambda::Function")[fnId]!.Properties.Environment.Variables;
    const poolId = Object.keys(t.findResources("AWS::Cognito::UserPool"))[0]!;
    const clientId = Object.keys(t.findResources("AWS::Cognito::UserPoolClient"))[0]!;
    expect(vars.COGNITO_USER_POOL_ID).toEqual({ Ref: poolId });
    expect(vars.COGNITO_CLIENT_ID).toEqual({ Ref: clientId });
    expect(Object.keys(t.toJSON().Outputs ?? {}).join(",")).toMatch(
      /ConsoleUserPoolId.*ConsoleClientId|ConsoleClientId.*ConsoleUserPoolId/,
    );
  });

  it("reaches the app through one function URL and no other route; the app is the gate (a browser cannot sign IAM)", () => {
    const urls = t.findResources("AWS::Lambda::Url");
    expect(Object.values(urls)).toHaveLength(1);
    const url = Object.values(urls)[0]!;
    expect(url.Properties.AuthType).toBe("NONE");
    expect(JSON.stringify(url.Properties.TargetFunctionArn)).toContain(fnId);
    // The only public permission is invoking the app through its URL; nothing else may invoke anything.
    const perms = Object.values(t.findResources("AWS::Lambda::Permission")) as Json[];
    for (const p of perms.filter((p) => p.Properties.Principal === "*")) {
      expect(JSON.stringify(p.Properties.FunctionName)).toContain(fnId);
      expect(p.Properties.FunctionUrlAuthType ?? "NONE").toBe("NONE");
      expect(["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]).toContain(p.Properties.Action);
    }
    expect(Object.keys(t.findResources("AWS::ApiGatewayV2::Api"))).toHaveLength(0);
    expect(Object.keys(t.findResources("AWS::ApiGateway::RestApi"))).toHaveLength(0);
  });

  it("limits its IAM to what its pages need: three secrets, four bucket prefixes, StartExecution; no '*' resource", () => {
    const policies = Object.values(t.findResources("AWS::IAM::Policy")) as Json[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    for (const a of actions)
      expect(String(a), String(a)).toMatch(/^(secretsmanager:GetSecretValue|s3:|states:StartExecution)/);
    expect([...actions].some((a) => /^s3:(DeleteObject|PutBucket|\*)/.test(String(a)))).toBe(false);
    for (const s of statements) expect(JSON.stringify(s.Resource), JSON.stringify(s)).not.toBe('"*"');
    const secretStatement = statements.find((s) => [s.Action].flat().includes("secretsmanager:GetSecretValue"))!;
    expect([secretStatement.Resource].flat()).toHaveLength(3);
    const s3Resources = JSON.stringify(
      statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("s3:"))).map((s) => s.Resource),
    );
    for (const prefix of ["reports/*", "inbox/*", "replays/*", "outbox/audiences/*"])
      expect(s3Resources).toContain(prefix);
  });

  it("logs in with the database stack's role secrets (console, pipeline, read-only), never the master's; outputs the URL", () => {
    t.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const env = JSON.stringify(
      Object.values(t.findResources("AWS::Lambda::Function")).map((f) => f.Properties.Environment),
    );
    expect(env).toMatch(/DATABASE_SECRET_ARN/);
    expect(env).toMatch(/READONLY_SECRET_ARN/);
    expect(env).toMatch(/PipelineSecret/);
    expect(env).toMatch(/ReadonlySecret/);
    expect(env).toMatch(/CONSOLE_SECRET_ARN/);
    expect(env).toMatch(/ConsoleSecret/);
    expect(env).not.toMatch(/ClusterSecret/);
    expect(Object.keys(t.toJSON().Outputs ?? {}).join(",")).toMatch(/ConsoleUrl/);
  });
});
