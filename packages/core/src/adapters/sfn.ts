import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { ExecutionStarter } from "../ports";

/** StartExecution named after the import: a replayed S3 event cannot start a second execution. */
export function sfnStarter(client: SFNClient, stateMachineArn: string): ExecutionStarter {
  return {
    async start(name, input) {
      try {
        await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || (err as Error).name === "ExecutionAlreadyExists") return;
        throw err;
      }
    },
  };
}
