import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform } from "./platform";

/** Where a run's imports and people are: the state machine waits while anything is pending. */
export const handler = middy(async (event: { run_id: string }) => {
  const progress = await Migration.runProgress((await platform()).pool, event.run_id);
  if (progress.people_failed) throw new Error(`resolving the people of ${progress.people_failed}`);
  return progress;
});
