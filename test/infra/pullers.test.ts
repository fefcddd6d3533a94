/**
 * The pullers' infrastructure, synthesized offline for the "pullers-example" stage (stacks/config.ts,
 * EXAMPLE_PULLERS): EventBridge Scheduler schedules in the pullers' time zones, and each puller
 * Lambda's IAM limited to its own secret, the landing prefix and the alert topic.
 */
import path from "node:path";
import { rmSync, writeFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";
import { Pipeline } from "../../stacks/Pipeline";
import { Pullers } from "../../stacks/Pullers";
import { Console } from "../../stacks/Console";

type Json = any; // CloudFormation fragments

let template: Template;
let resources: Record<string, Json>;

beforeAll(async () => {
  const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", "pullers-example");
  rmSync(outdir, { recursive: true, force: true });
  await synthesize("pullers-example", outdir);
  template = Template.fromStack(getStack(Pullers));
  resources = template.toJSON().Resources as Record<string, Json>;
  writeFileSync(path.join(outdir, "pullers-template.json"), JSON.stringify(template.toJSON(), null, 1));
}, 600_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe("puller schedules", () => {
  it("runs each puller on its cron in its own time zone, and checks expected_by daily", () => {
    const schedules = ofType("AWS::Scheduler::Schedule")
      .map(([, r]) => r.Properties)
      .map((p: Json) => [
        p.ScheduleExpression,
        p.ScheduleExpressionTimezone,
        JSON.parse(p.Target.Input),
        p.FlexibleTimeWindow.Mode,
      ])
      .sort();
    expect(schedules).toEqual([
      ["cron(0 8 * * ? *)", "America/New_York", { check: "expected", time: "<aws.scheduler.scheduled-time>" }, "OFF"],
      ["cron(0/30 * * * ? *)", "Europe/London", {}, "OFF"],
      ["cron(15 6 ? * 2-6 *)", "America/New_York", {}, "OFF"],
    ]);
  });

  it("lets the scheduler's role invoke only the puller functions", () => {
    const policies = ofType("AWS::IAM::Policy").filter(([, r]) =>
      JSON.stringify(r.Properties.Roles).includes("PullerSchedulerRole"),
    );
    const statements = policies.flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements)
      expect([s.Action].flat().every((a: string) => a === "lambda:InvokeFunction")).toBe(true);
  });
});

describe("puller Lambdas", () => {
  const fnPolicy = (name: string) => {
    const fn = ofType("AWS::Lambda::Function").find(
      ([, r]) =>
        r.Properties.Environment?.Variables?.PULLER_SPEC &&
        JSON.parse(r.Properties.Environment.Variables.PULLER_SPEC).name === name,
    )!;
    const roleId = fn[1].Properties.Role["Fn::GetAtt"][0];
    const statements = ofType("AWS::IAM::Policy")
      .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    return { fn: fn[1], statements };
  };

  it("carry the spec without secrets, and run functions/pull.ts", () => {
    const { fn } = fnPolicy("partner-b-sftp");
    expect(fn.Properties.Handler).toMatch(/pull\.handler$/);
    const spec = JSON.parse(fn.Properties.Environment.Variables.PULLER_SPEC);
    expect(spec).toMatchObject({ name: "partner-b-sftp", secret: "leadpipe/pullers/partner-b-sftp" });
    expect(spec.password).toBeUndefined();
    expect(fn.Properties.VpcConfig).toBeDefined();
  });

  it.each([["partner-b-sftp"], ["partner-c-mail"]])(
    "%s may read only its own secret and the database's, and write only under inbox/",
    (name) => {
      const { statements } = fnPolicy(name);
      const secretStatements = statements.filter((s: Json) =>
        [s.Action].flat().includes("secretsmanager:GetSecretValue"),
      );
      const secretResources = JSON.stringify(secretStatements.map((s: Json) => s.Resource));
      expect(secretResources).toContain(`secret:leadpipe/pullers/${name}-??????`);
      const other = name === "partner-b-sftp" ? "partner-c-mail" : "partner-b-sftp";
      expect(secretResources).not.toContain(other);
      const s3 = statements.filter((s: Json) => [s.Action].flat().some((a: string) => a.startsWith("s3:")));
      expect(s3.length).toBeGreaterThan(0);
      for (const s of s3) {
        expect([s.Action].flat().every((a: string) => a.startsWith("s3:Put") || a.startsWith("s3:Abort"))).toBe(true);
        expect(JSON.stringify(s.Resource)).toContain("/inbox/*");
      }
      for (const s of statements) expect(s.Resource).not.toBe("*");
    },
  );
});

describe("the lead hand-off's deliveries", () => {
  it("give the LeadHandoff function the push destinations without secrets, and only their secrets to read", () => {
    const pipeline = Template.fromStack(getStack(Pipeline)).toJSON().Resources as Record<string, Json>;
    const [id, fn] = Object.entries(pipeline).find(
      ([, r]) => r.Type === "AWS::Lambda::Function" && /lead-handoff\.handler$/.test(r.Properties.Handler ?? ""),
    )!;
    const destinations = JSON.parse(fn.Properties.Environment.Variables.LEAD_DELIVERIES);
    expect(destinations.map((d: Json) => [d.name, d.direction, d.secret, d.client_secret])).toEqual([
      ["agency-mail", "push", "leadpipe/deliveries/agency-mail", undefined],
    ]);
    expect(fn.Properties.VpcConfig).toBeDefined();
    const roleId = fn.Properties.Role["Fn::GetAtt"][0];
    const secrets = JSON.stringify(
      Object.values(pipeline)
        .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(roleId))
        .flatMap((r) => r.Properties.PolicyDocument.Statement)
        .filter((s: Json) => [s.Action].flat().includes("secretsmanager:GetSecretValue"))
        .map((s: Json) => s.Resource),
    );
    expect(secrets, id).toContain("secret:leadpipe/deliveries/agency-mail-??????");
    expect(secrets).not.toContain("leadpipe/pullers/");
    // It reads the hand-off files back to send them, and nothing else of the bucket.
    const reads = Object.values(pipeline)
      .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: Json) => [s.Action].flat().includes("s3:GetObject*"));
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0].Resource)).toContain("/outbox/leads/*");
  });
});

describe("the console's view of the pullers", () => {
  it("gives the console's Lambda the stage's pull entries (secret names, no passwords), not the outbound ones", () => {
    const fns = Template.fromStack(getStack(Console)).findResources("AWS::Lambda::Function", {
      Properties: { Handler: "functions/console.handler" },
    });
    const vars = (Object.values(fns)[0] as Json).Properties.Environment.Variables;
    const pulls = JSON.parse(vars.CONSOLE_PULLERS) as { name: string; direction?: string; secret?: string }[];
    expect(pulls.length).toBeGreaterThan(0);
    expect(pulls.every((p) => p.direction !== "push")).toBe(true);
    expect(vars.CONSOLE_PULLERS).not.toMatch(/"password"|"client_secret"/);
    expect(pulls.find((p) => p.name === "partner-b-sftp")?.secret).toBe("leadpipe/pullers/partner-b-sftp");
  });

  it("lets the console's Lambda invoke exactly the puller functions, named in its environment", () => {
    const console_ = Template.fromStack(getStack(Console)).toJSON().Resources as Record<string, Json>;
    const [, web] = Object.entries(console_).find(
      ([, r]) => r.Type === "AWS::Lambda::Function" && r.Properties.Handler === "functions/console.handler",
    )!;
    // The Pullers stack's function ids, by puller name (the handler's PULLER_SPEC says which).
    const pullerFns = Object.fromEntries(
      ofType("AWS::Lambda::Function")
        .filter(([, r]) => r.Properties.Handler === "functions/pull.handler")
        .map(([id, r]) => [JSON.parse(r.Properties.Environment.Variables.PULLER_SPEC).name, id]),
    );
    expect(Object.keys(pullerFns).sort()).toEqual(["partner-b-sftp", "partner-c-mail"]);
    // Cross-stack: each name or ARN is an import of the Pullers stack's output for that function.
    const importOf = (v: Json) => JSON.stringify(v).match(/"Fn::ImportValue":"([^"]+)"/)?.[1];
    const exports = Object.values(template.toJSON().Outputs ?? {}) as Json[];
    const exportedFrom = (name: string | undefined) =>
      JSON.stringify(exports.find((o) => o.Export && JSON.stringify(o.Export.Name).includes(`"${name}"`))?.Value);

    const env = web.Properties.Environment.Variables.CONSOLE_PULLER_FUNCTIONS;
    const parts = env["Fn::Join"][1] as Json[];
    const names: Record<string, Json> = {};
    for (let i = 0; i < parts.length; i++) {
      const key = typeof parts[i] === "string" ? (parts[i] as string).match(/"([a-z0-9-]+)":"$/)?.[1] : undefined;
      if (key) names[key] = parts[i + 1];
    }
    expect(Object.keys(names).sort()).toEqual(["partner-b-sftp", "partner-c-mail"]);
    for (const [puller, value] of Object.entries(names))
      expect(exportedFrom(importOf(value)), puller).toBe(JSON.stringify({ Ref: pullerFns[puller] }));

    const roleId = web.Properties.Role["Fn::GetAtt"][0];
    const statements = Object.values(console_)
      .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
    const invokes = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("lambda:")));
    expect(invokes).toHaveLength(1);
    expect(invokes[0].Action).toBe("lambda:InvokeFunction");
    expect(invokes[0].Effect).toBe("Allow");
    const arns = [invokes[0].Resource].flat().map((r: Json) => exportedFrom(importOf(r)));
    expect(arns.sort()).toEqual(
      Object.values(pullerFns)
        .map((id) => JSON.stringify({ "Fn::GetAtt": [id, "Arn"] }))
        .sort(),
    );
  });
});
