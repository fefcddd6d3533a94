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
  const passwords = {
    [Roles.PIPELINE_ROLE]: await password(c.PIPELINE_SECRET_ARN),
    [Roles.READONLY_ROLE]: await password(c.READONLY_SECRET_ARN),
    [Roles.CONSOLE_ROLE]: await password(c.CONSOLE_SECRET_ARN),
  };
  await Roles.setRolePasswords(deps.pool, passwords);
  deps.log.info("migrations applied", {
    applied,
    rolePasswordsSet: Object.entries(passwords).flatMap(([role, p]) => (p ? [role] : [])),
  });
  return { applied };
});
