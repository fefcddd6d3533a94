import middy from "@middy/core";
import { Roles, config, migrate } from "@leadpipe/core";
import { passwordFromSecret } from "@leadpipe/core/adapters/secrets";
import { platform } from "./platform";

/**
 * Runs on deploy as the master user: numbered migrations, then the re-runnable functions and views
 * (SQL_DIR points at the bundled sql/), then the login roles' passwords from their secrets.
 */
export const handler = middy(async () => {
  const deps = await platform();
  const applied = await migrate(deps.pool);
  const c = config();
  const password = (arn: string | undefined) =>
    arn ? passwordFromSecret(arn, c.AWS_REGION) : Promise.resolve(undefined);
  const [pipeline, readonly] = await Promise.all([password(c.PIPELINE_SECRET_ARN), password(c.READONLY_SECRET_ARN)]);
  await Roles.setRolePasswords(deps.pool, { [Roles.PIPELINE_ROLE]: pipeline, [Roles.READONLY_ROLE]: readonly });
  deps.log.info("migrations applied", {
    applied,
    rolePasswordsSet: [pipeline && Roles.PIPELINE_ROLE, readonly && Roles.READONLY_ROLE].filter(Boolean),
  });
  return { applied };
});
