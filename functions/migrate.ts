import middy from "@middy/core";
import { migrate } from "@leadpipe/core";
import { platform } from "./platform";

/** Runs on deploy: numbered migrations, then the re-runnable functions and views (SQL_DIR points at the bundled sql/). */
export const handler = middy(async () => {
  const deps = await platform();
  const applied = await migrate(deps.pool);
  deps.log.info("migrations applied", { applied });
  return { applied };
});
