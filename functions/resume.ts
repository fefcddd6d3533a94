import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { platform } from "./platform";

/** The Resume state: a recovered import's chunks still to process, from its staged chunk plan. */
export const handler = middy(async (event: { importId: string }) => Import.resume(await platform(), event.importId));
