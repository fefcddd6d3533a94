import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { platform } from "./platform";

/** The ASL's Catch target: { importId, error: { Error, Cause } }. */
export const handler = middy(async (event: { importId: string; error?: Import.StepError }) =>
  Import.markFailed(await platform(), event.importId, event.error),
);
