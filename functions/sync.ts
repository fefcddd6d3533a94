import middy from "@middy/core";
import { ConfigError, Integrations, config } from "@leadpipe/core";
import { secretsManagerCredentials } from "@leadpipe/core/adapters/secrets";
import { platform } from "./platform";

/** The system this function syncs and its connection's secret, from the environment at cold start. */
function systemFromEnv(): { system: Integrations.System; secretArn: string } {
  const system = process.env.SYNC_SYSTEM;
  if (!system || !(Integrations.SYSTEMS as readonly string[]).includes(system))
    throw new ConfigError(`SYNC_SYSTEM must be one of ${Integrations.SYSTEMS.join(", ")} (got ${system ?? "nothing"})`);
  const secretArn = process.env.INTEGRATION_SECRET_ARN;
  if (!secretArn) throw new ConfigError("INTEGRATION_SECRET_ARN is not set: the system's connection secret");
  return { system: system as Integrations.System, secretArn };
}
const { system, secretArn } = systemFromEnv();
// The connection and the OAuth tokens a sync refreshes (stored back under "tokens") share the secret.
const secret = secretsManagerCredentials(() => secretArn, config().AWS_REGION);

/**
 * EventBridge Scheduler: {} runs an incremental sync, {full: true} the full reconciliation. The
 * connection is the system's Secrets Manager secret, shaped like its entry in integrations.json,
 * with the tokens the sync refreshed under "tokens". A failed run is recorded, alerted and thrown by runSync.
 */
export const handler = middy(async (event: { full?: boolean } = {}) => {
  const deps = await platform();
  const sync = Integrations.SYNCS[system];
  if (!sync) throw new ConfigError(`the ${system} sync is not in this build`);
  const connections = await secret.connections([system]);
  return Integrations.runSync(
    {
      pool: deps.pool,
      log: deps.log,
      notifier: deps.notifier,
      objects: { store: deps.store, bucket: deps.settings.bucket },
      credentials: secret,
    },
    system,
    sync,
    connections,
    { trigger: "lambda", full: event.full === true, dryRun: false },
  );
});
