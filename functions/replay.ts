import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { executionProbe, executionStarter, platform } from "./platform";

/** Operations: replay an import in full, or only its rejected rows (`leadpipe replay`). */
export const handler = middy(async (event: { importId: string } & Import.ReplayRequest) =>
  Import.replay(
    await platform(),
    executionStarter(),
    event.importId,
    { mode: event.mode, fixedKey: event.fixedKey, requestedBy: event.requestedBy },
    executionProbe(),
  ),
);
