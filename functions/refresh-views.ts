import middy from "@middy/core";
import { Views } from "@leadpipe/core";
import { platform } from "./platform";

/** Nightly (EventBridge schedule): refresh every reporting view concurrently. */
export const handler = middy(async () => {
  const deps = await platform();
  const refreshed = await Views.refreshAll(deps.pool);
  deps.log.info("views refreshed", { views: refreshed });
  return { refreshed };
});
