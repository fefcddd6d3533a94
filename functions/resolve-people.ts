import middy from "@middy/core";
import { People } from "@leadpipe/core";
import { platform } from "./platform";

export const handler = middy(async (event: { importId: string }) => People.resolvePeople(await platform(), event.importId));
