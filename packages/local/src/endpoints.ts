import http from "node:http";
import type net from "node:net";

export interface LocalEndpointHandlers {
  /** StartExecution: resolves with the execution ARN; throws {name:"ExecutionAlreadyExists"} for a reused name. */
  startExecution(req: { stateMachineArn: string; name?: string; input?: string }): Promise<{ executionArn: string }>;
  /** DescribeExecution: throws {name:"ExecutionDoesNotExist"} for an execution this platform did not start. */
  describeExecution(req: { executionArn: string }): Promise<{ status: string }>;
  publish(req: { topicArn: string; subject?: string; message: string }): Promise<{ messageId: string }>;
}

/**
 * The local peers of Step Functions and SNS, speaking the AWS wire protocols the SDK clients use
 * (JSON 1.0 for Step Functions, the query protocol for SNS), so handlers call them through the
 * real SDK exactly as in AWS. Binds 127.0.0.1 only.
 */
export async function startLocalEndpoints(h: LocalEndpointHandlers): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const target = String(req.headers["x-amz-target"] ?? "");
      (target.startsWith("AWSStepFunctions.") ? sfn(target.slice("AWSStepFunctions.".length), body) : sns(body))
        .then(({ status, type, payload }) => {
          res.writeHead(status, { "content-type": type });
          res.end(payload);
        })
        .catch((err: Error) => {
          if (target.startsWith("AWSStepFunctions.")) {
            res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
            res.end(JSON.stringify({ __type: "InternalFailure", message: err.message }));
          } else {
            res.writeHead(500, { "content-type": "text/xml" });
            res.end(
              `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>${err.message.replace(/[<&]/g, "")}</Message></Error></ErrorResponse>`,
            );
          }
        });
    });
  });

  async function sfn(op: string, body: string) {
    const json = "application/x-amz-json-1.0";
    if (op === "DescribeExecution") {
      const req = JSON.parse(body) as { executionArn: string };
      try {
        const { status } = await h.describeExecution(req);
        return {
          status: 200,
          type: json,
          payload: JSON.stringify({ executionArn: req.executionArn, status, startDate: Date.now() / 1000 }),
        };
      } catch (err) {
        const e = err as Error;
        if (e.name === "ExecutionDoesNotExist")
          return {
            status: 400,
            type: json,
            payload: JSON.stringify({ __type: "ExecutionDoesNotExist", message: e.message }),
          };
        throw err;
      }
    }
    if (op !== "StartExecution")
      return { status: 400, type: json, payload: JSON.stringify({ __type: "UnknownOperationException", message: op }) };
    const input = JSON.parse(body) as { stateMachineArn: string; name?: string; input?: string };
    try {
      const { executionArn } = await h.startExecution(input);
      return { status: 200, type: json, payload: JSON.stringify({ executionArn, startDate: Date.now() / 1000 }) };
    } catch (err) {
      const e = err as Error;
      if (e.name === "ExecutionAlreadyExists")
        return {
          status: 400,
          type: json,
          payload: JSON.stringify({ __type: "ExecutionAlreadyExists", message: e.message }),
        };
      throw err;
    }
  }

  async function sns(body: string) {
    const p = new URLSearchParams(body);
    const xml = "text/xml";
    if (p.get("Action") !== "Publish") {
      return {
        status: 400,
        type: xml,
        payload: `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${p.get("Action")}</Message></Error></ErrorResponse>`,
      };
    }
    // SNS's own rule: a subject is printable ASCII under 100 characters, or the publish is refused (and the alert lost).
    const subject = p.get("Subject") ?? undefined;
    if (subject !== undefined && (subject.length >= 100 || !/^[\x21-\x7e][\x20-\x7e]*$/.test(subject))) {
      return {
        status: 400,
        type: xml,
        payload:
          "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>" +
          "<Message>Invalid parameter: Subject</Message></Error></ErrorResponse>",
      };
    }
    const { messageId } = await h.publish({
      topicArn: p.get("TopicArn") ?? "",
      subject,
      message: p.get("Message") ?? "",
    });
    return {
      status: 200,
      type: xml,
      payload: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${messageId}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
