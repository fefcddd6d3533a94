import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
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

/** The password field of a Secrets Manager secret (a login role's generated secret). */
export async function passwordFromSecret(secretArn: string, region: string): Promise<string> {
  const client = new SecretsManagerClient({ region });
  const r = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const { password } = JSON.parse(r.SecretString ?? "{}") as { password?: string };
  if (!password) throw new Error(`secret ${secretArn} has no password field`);
  return password;
}

/** A secret whose value is a JSON object (an integration's connection), parsed; never echoed in an error. */
export async function jsonFromSecret(secretArn: string, region: string): Promise<Record<string, unknown>> {
  const client = new SecretsManagerClient({ region });
  const r = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.SecretString ?? "");
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`secret ${secretArn} is not a JSON object`);
  return parsed as Record<string, unknown>;
}
