import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { platform } from "./platform";

/** One Map iteration: { importId, chunk } as the ASL's ItemSelector builds it. */
export const handler = middy(async (event: { importId: string; chunk: Import.ChunkRef }) =>
  Import.processChunk(await platform(), event.importId, event.chunk),
);
