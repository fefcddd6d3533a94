import { describe, expect, it, beforeEach } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { sfnStarter } from "../../packages/core/src/adapters/sfn";
import { alertSubject, snsNotifier } from "../../packages/core/src/adapters/sns";
import { errorMessage } from "../../packages/core/src/imports/mark-failed";
import { asRetryable, FileRejectedError, RetryableError } from "../../packages/core/src/errors";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { s3Store } from "../../packages/core/src/adapters/s3";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { lambdaPullStarter } from "../../packages/core/src/adapters/lambda";

const s3 = mockClient(S3Client);
const fast = { retries: 3, minTimeoutMs: 1, factor: 2 };
const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });

const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const lambda = mockClient(LambdaClient);
beforeEach(() => {
  lambda.reset();
  sfn.reset();
  sns.reset();
  s3.reset();
});

describe("network retries (p-retry, 3 retries with backoff, transient faults only)", () => {
  it("retries a publish that fails twice with a network error, then sends it", async () => {
    sns.on(PublishCommand).rejectsOnce(refused()).rejectsOnce(refused()).resolves({ MessageId: "m1" });
    await snsNotifier(new SNSClient({ region: "us-east-1" }), "arn:topic", fast).alert("s", "m");
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
  });

  it("gives up after 3 retries and lets the last error through", async () => {
    sns.on(PublishCommand).rejects(refused());
    await expect(
      snsNotifier(new SNSClient({ region: "us-east-1" }), "arn:topic", fast).alert("s", "m"),
    ).rejects.toThrow("ECONNREFUSED");
    expect(sns.commandCalls(PublishCommand)).toHaveLength(4);
  });

  it("does not retry a permanent error", async () => {
    s3.on(HeadObjectCommand).rejects(
      Object.assign(new Error("Forbidden"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }),
    );
    await expect(s3Store(new S3Client({ region: "us-east-1" }), fast).head("b", "k")).rejects.toThrow("Forbidden");
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(1);
  });

  it("retries S3 reads that hit a 503, and starting an execution that hits a throttle", async () => {
    const unavailable = Object.assign(new Error("Slow Down"), { $metadata: { httpStatusCode: 503 } });
    s3.on(GetObjectCommand).rejectsOnce(unavailable).resolves({});
    await s3Store(new S3Client({ region: "us-east-1" }), fast).read("b", "k");
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { $metadata: { httpStatusCode: 429 } }))
      .resolves({ executionArn: "arn:x" });
    await sfnStarter(new SFNClient({ region: "us-east-1" }), "arn:sm", fast).start("imp-1", {});
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });
});

describe("Step Functions starter", () => {
  it("names the execution after the import and passes the input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x" });
    await sfnStarter(new SFNClient({ region: "us-east-1" }), "arn:sm").start("imp-1", { importId: "imp-1" });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({
      stateMachineArn: "arn:sm",
      name: "imp-1",
      input: '{"importId":"imp-1"}',
    });
  });

  it("treats an execution that already exists as started (a replayed S3 event)", async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));
    await expect(
      sfnStarter(new SFNClient({ region: "us-east-1" }), "arn:sm").start("imp-1", {}),
    ).resolves.toBeUndefined();
  });

  it("lets other failures through", async () => {
    sfn.on(StartExecutionCommand).rejects(new Error("AccessDenied"));
    await expect(sfnStarter(new SFNClient({ region: "us-east-1" }), "arn:sm").start("imp-1", {})).rejects.toThrow(
      "AccessDenied",
    );
  });
});

describe("SNS notifier", () => {
  it("publishes subject and message to the alert topic", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m1" });
    await snsNotifier(new SNSClient({ region: "us-east-1" }), "arn:topic").alert("subj", "body");
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toEqual({
      TopicArn: "arn:topic",
      Subject: "subj",
      Message: "body",
    });
  });

  it("makes any text a subject SNS accepts: printable ASCII, one line, under 100 characters", async () => {
    expect(alertSubject("leadpipe import FAILED: Zoë Müller\r\n\tnotes\u0000.csv")).toBe(
      "leadpipe import FAILED: Zoe Muller notes .csv",
    );
    expect(alertSubject("FAILED: 日本語 😀")).toBe("FAILED: ??? ?");
    expect(alertSubject("\n\n")).toBe("leadpipe alert");
    const long = alertSubject(`leadpipe import FAILED: ${"é".repeat(1000)}`);
    expect(long).toBe(`leadpipe import FAILED: ${"e".repeat(96 - 24)}...`);
    expect(long).toHaveLength(99);
    sns.on(PublishCommand).resolves({ MessageId: "m2" });
    await snsNotifier(new SNSClient({ region: "us-east-1" }), "arn:topic").alert("a\nb", "body");
    expect(sns.commandCalls(PublishCommand).at(-1)!.args[0].input.Subject).toBe("a b");
  });
});

describe("errors", () => {
  it("reads the message out of a Lambda error Cause, or takes the Cause as it is", () => {
    expect(
      errorMessage({
        Error: "FileRejectedError",
        Cause: JSON.stringify({ errorType: "FileRejectedError", errorMessage: "empty file: 0 bytes" }),
      }),
    ).toBe("empty file: 0 bytes");
    expect(errorMessage({ Error: "Error", Cause: "boom" })).toBe("boom");
    expect(errorMessage(undefined)).toBe("unknown error");
  });

  it("turns transient driver faults into RetryableError and leaves the rest alone", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const adminShutdown = Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
    });
    const syntax = Object.assign(new Error("syntax error"), { code: "42601" });
    expect(asRetryable(reset, "x")).toBeInstanceOf(RetryableError);
    expect(asRetryable(adminShutdown, "x")).toBeInstanceOf(RetryableError);
    expect(asRetryable(syntax, "x")).toBe(syntax);
    const rejected = new FileRejectedError("bad");
    expect(asRetryable(rejected, "x")).toBe(rejected);
    expect((asRetryable(reset, "staging") as Error).name).toBe("RetryableError");
  });
});

describe("starting a puller from the console (Lambda Invoke, InvocationType Event)", () => {
  const functions = { "partner-b-sftp": "leadpipe-test-Puller-partner-b-sftp-abc123" };
  const start = (policy = fast) => lambdaPullStarter(new LambdaClient({ region: "us-east-1" }), functions, policy);

  it("invokes the puller's function asynchronously with the event its schedule sends (a run, not the expected check)", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await start()("partner-b-sftp");
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.FunctionName).toBe("leadpipe-test-Puller-partner-b-sftp-abc123");
    expect(input.InvocationType).toBe("Event");
    // functions/pull.ts: an event without `check` runs the puller once
    const event = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
    expect(event).toEqual({});
    expect(event.check).toBeUndefined();
  });

  it("refuses a puller without a function before any call, and an answer other than 202", async () => {
    await expect(start()("partner-x")).rejects.toThrow("puller partner-x has no function in this stage");
    await expect(start()("__proto__")).rejects.toThrow("has no function");
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    await expect(start()("partner-b-sftp")).rejects.toThrow("Lambda answered 200, not 202");
  });

  it("retries a throttled invoke, and lets access denied through at once", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), {
      name: "TooManyRequestsException",
      $metadata: { httpStatusCode: 429 },
    });
    lambda.on(InvokeCommand).rejectsOnce(throttled).resolves({ StatusCode: 202 });
    await start()("partner-b-sftp");
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    lambda.reset();
    lambda.on(InvokeCommand).rejects(
      Object.assign(new Error("not authorized to perform: lambda:InvokeFunction"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(start()("partner-b-sftp")).rejects.toThrow("not authorized");
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });
});
