import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

export function createLambdaClient(region = "us-east-1"): LambdaClient {
  return new LambdaClient({ region, maxAttempts: 1 });
}

/** One run of a puller: the event its EventBridge schedule sends (functions/pull.ts; `{check: "expected"}` is the other). */
export const PULL_RUN_EVENT: Readonly<Record<string, never>> = {};

/**
 * Starts a puller's run now and does not wait for it: an asynchronous invoke (InvocationType Event) of the
 * puller's function (stacks/Pullers.ts; `functions` maps a puller's name to its function's name) with the event
 * its schedule sends. Lambda answers 202 once the event is queued; the run records itself in `puller_runs` and
 * lands what the ledger says is due. A puller without a function is refused before any call.
 */
export function lambdaPullStarter(
  client: LambdaClient,
  functions: Readonly<Record<string, string>>,
  policy: RetryPolicy = NETWORK_RETRY,
): (puller: string) => Promise<void> {
  return async (puller) => {
    const FunctionName = Object.hasOwn(functions, puller) ? functions[puller] : undefined;
    if (!FunctionName) throw new Error(`puller ${puller} has no function in this stage: it cannot be started`);
    const command = new InvokeCommand({
      FunctionName,
      InvocationType: "Event",
      Payload: new TextEncoder().encode(JSON.stringify(PULL_RUN_EVENT)),
    });
    const res = await withRetry(() => client.send(command), policy);
    if (res.StatusCode !== 202)
      throw new Error(`starting puller ${puller}: Lambda answered ${res.StatusCode}, not 202`);
  };
}
