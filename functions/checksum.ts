import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { platform } from "./platform";

export const handler = middy(async (event: { importId: string }) => Import.checksum(await platform(), event.importId));
