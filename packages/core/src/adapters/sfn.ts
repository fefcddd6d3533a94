import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { ExecutionStarter } from "../ports";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

export function createSfnClient(endpoint?: string, region = "us-east-1"): SFNClient {
  return new SFNClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
}

/** StartExecution named after the import: a replayed S3 event cannot start a second execution. */
export function sfnStarter(client: SFNClient, stateMachineArn: string, policy: RetryPolicy = NETWORK_RETRY): ExecutionStarter {
  return {
    async start(name, input) {
      try {
        await withRetry(() => client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })), policy);
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || (err as Error).name === "ExecutionAlreadyExists") return;
        throw err;
      }
    },
  };
}
