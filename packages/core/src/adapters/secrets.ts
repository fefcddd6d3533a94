import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as Integrations from "../integrations/index";
import type { PoolConfig } from "pg";

/** Connection settings from the Aurora cluster's generated secret (host, port, username, password, dbname). */
export async function poolConfigFromSecret(secretArn: string, region: string): Promise<PoolConfig> {
  const client = new SecretsManagerClient({ region });
  const r = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const s = JSON.parse(r.SecretString ?? "{}") as {
    host: string;
    port: number;
    username: string;
    password: string;
    dbname?: string;
  };
  return {
    host: s.host,
    port: Number(s.port),
    user: s.username,
    password: s.password,
    database: s.dbname ?? "postgres",
    ssl: { rejectUnauthorized: false },
  };
}

/**
 * A legacy database's source URL from its Secrets Manager secret, in the shape RDS writes
 * ({engine, host, port, username, password, dbname}): for openReader, never logged (its label drops the password).
 */
export async function legacySourceFromSecret(secretArn: string, region: string): Promise<string> {
  const client = new SecretsManagerClient({ region });
  const r = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  return legacySourceUrl(JSON.parse(r.SecretString ?? "{}") as Record<string, unknown>, secretArn);
}

/** The mysql:// URL of a legacy secret's fields; a missing field is named (never the values). */
export function legacySourceUrl(s: Record<string, unknown>, where = "the legacy secret"): string {
  const engine = String(s.engine ?? "mysql");
  if (engine !== "mysql" && engine !== "mariadb")
    throw new Error(`${where}: engine must be mysql or mariadb, got ${JSON.stringify(engine)}`);
  const missing = ["host", "username", "password", "dbname"].filter((k) => typeof s[k] !== "string" || !s[k]);
  if (missing.length) throw new Error(`${where}: missing ${missing.join(", ")}`);
  const port = Number(s.port ?? 3306);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${where}: port is not a port number`);
  const enc = (k: string) => encodeURIComponent(String(s[k]));
  return `mysql://${enc("username")}:${enc("password")}@${String(s.host)}:${port}/${enc("dbname")}`;
}

/** The password field of a Secrets Manager secret (a login role's generated secret). */
export async function passwordFromSecret(secretArn: string, region: string): Promise<string> {
  const client = new SecretsManagerClient({ region });
  const r = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const { password } = JSON.parse(r.SecretString ?? "{}") as { password?: string };
  if (!password) throw new Error(`secret ${secretArn} has no password field`);
  return password;
}

/**
 * An external system's connection in AWS: one Secrets Manager secret per system holding the
 * fields of integrations.json's entry (e.g. server_url, client_id, client_secret, jwt) and, under
 * "tokens", the OAuth tokens the sync refreshed and stores back here.
 */
export function secretsManagerCredentials(
  secretIdOf: (system: Integrations.System) => string,
  region: string,
  client = new SecretsManagerClient({ region }),
): Integrations.CredentialStore & {
  connections(systems: readonly Integrations.System[]): Promise<Integrations.Integrations>;
} {
  const read = async (system: Integrations.System): Promise<Record<string, unknown>> => {
    const r = await client.send(new GetSecretValueCommand({ SecretId: secretIdOf(system) }));
    return JSON.parse(r.SecretString ?? "{}") as Record<string, unknown>;
  };
  return {
    async load(system) {
      const tokens = (await read(system)).tokens;
      return tokens && typeof tokens === "object" ? (tokens as Record<string, unknown>) : undefined;
    },
    async save(system, value) {
      // one live run per system (integration_sync_runs), so nothing else writes this secret meanwhile
      const current = await read(system);
      await client.send(
        new PutSecretValueCommand({
          SecretId: secretIdOf(system),
          SecretString: JSON.stringify({ ...current, tokens: value }),
        }),
      );
    },
    async connections(systems) {
      const all: Record<string, unknown> = {};
      for (const system of systems) {
        const { tokens: _tokens, ...conn } = await read(system);
        all[system] = conn;
      }
      return Integrations.parseIntegrations(
        JSON.stringify(all),
        `Secrets Manager (${systems.map(secretIdOf).join(", ")})`,
      );
    },
  };
}
