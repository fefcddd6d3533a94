import middy from "@middy/core";
import { type Import, Migration } from "@leadpipe/core";
import { platform } from "./platform";

/** The legacy migration's Catch target: { run?: { run_id }, error: { Error, Cause } }; the run ends FAILED, alerted. */
export const handler = middy(async (event: { run?: { run_id?: string }; error?: Import.StepError }) =>
  Migration.failRun(await platform(), event.run?.run_id, event.error),
);
