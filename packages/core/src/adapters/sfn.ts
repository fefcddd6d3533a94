import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { ExecutionProbe, ExecutionStarter } from "../ports";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

export function createSfnClient(endpoint?: string, region = "us-east-1"): SFNClient {
  return new SFNClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
}

/** StartExecution named after the import: a replayed S3 event cannot start a second execution. */
export function sfnStarter(
  client: SFNClient,
  stateMachineArn: string,
  policy: RetryPolicy = NETWORK_RETRY,
): ExecutionStarter {
  return {
    async start(name, input) {
      try {
        await withRetry(
          () => client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })),
          policy,
        );
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || (err as Error).name === "ExecutionAlreadyExists") return;
        throw err;
      }
    },
  };
}

/** arn:aws:states:<region>:<account>:stateMachine:<machine> → …:execution:<machine>:<name>. */
export function executionArn(stateMachineArn: string, name: string): string {
  const at = stateMachineArn.indexOf(":stateMachine:");
  if (at < 0) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `${stateMachineArn.slice(0, at)}:execution:${stateMachineArn.slice(at + ":stateMachine:".length)}:${name}`;
}

/** DescribeExecution: RUNNING (or waiting to be redriven) is running; an unknown name is MISSING. */
export function sfnProbe(
  client: SFNClient,
  stateMachineArn: string,
  policy: RetryPolicy = NETWORK_RETRY,
): ExecutionProbe {
  return {
    async state(name) {
      try {
        const describe = new DescribeExecutionCommand({ executionArn: executionArn(stateMachineArn, name) });
        const r = await withRetry(() => client.send(describe), policy);
        return r.status === "RUNNING" || r.status === "PENDING_REDRIVE" ? "RUNNING" : "ENDED";
      } catch (err) {
        if (err instanceof ExecutionDoesNotExist || (err as Error).name === "ExecutionDoesNotExist") return "MISSING";
        throw err;
      }
    },
  };
}
