import { readFile } from "node:fs/promises";
import type { PullerSpec } from "../pullers/spec";
import type { Transport } from "../pullers/transport";
import { sftpTransport } from "./sftp";
import { graphMailTransport, graphTransport, type DeltaLinks } from "./graph";
import type { Queryable } from "../db";

/** A puller's secrets: locally from pullers.json (and the key file), in AWS from its Secrets Manager secret. */
export interface PullerSecrets {
  password?: string;
  private_key?: string;
  client_secret?: string;
}

export type SecretReader = (secretId: string) => Promise<PullerSecrets>;

async function secretsOf(spec: PullerSpec, readSecret?: SecretReader): Promise<PullerSecrets> {
  const fromSecret = spec.secret ? await requireReader(readSecret, spec.name)(spec.secret) : {};
  if (spec.transport === "sftp") {
    return {
      password: spec.password ?? fromSecret.password,
      private_key: spec.private_key_file ? await readFile(spec.private_key_file, "utf8") : fromSecret.private_key,
    };
  }
  if (spec.transport === "ftps") return { password: spec.password ?? fromSecret.password };
  return { client_secret: spec.client_secret ?? fromSecret.client_secret };
}

function requireReader(r: SecretReader | undefined, name: string): SecretReader {
  if (!r) throw new Error(`puller ${name} names a secret, but this runtime has no secret store`);
  return r;
}

/** The transport a spec describes, with its credentials resolved (never logged). */
export async function openTransport(
  spec: PullerSpec,
  readSecret?: SecretReader,
  deltaLinks?: DeltaLinks,
): Promise<Transport> {
  const s = await secretsOf(spec, readSecret);
  switch (spec.transport) {
    case "sftp":
      return sftpTransport({
        host: spec.host,
        port: spec.port,
        username: spec.username,
        password: s.password,
        privateKey: s.private_key,
        hostKey: spec.host_key,
        dir: spec.dir,
      });
    case "ftps": {
      const { ftpsTransport } = await import("./ftps");
      return ftpsTransport({
        host: spec.host,
        port: spec.port ?? (spec.tls === "implicit" ? 990 : 21),
        username: spec.username,
        password: s.password!,
        tls: spec.tls,
        caFile: spec.ca_file,
        dir: spec.dir,
      });
    }
    case "graph": {
      const access = {
        tenantId: spec.tenant_id,
        clientId: spec.client_id,
        clientSecret: s.client_secret!,
        mailbox: spec.mailbox,
        graphUrl: spec.graph_url,
        loginUrl: spec.login_url,
      };
      if (spec.direction === "push") return graphMailTransport({ ...access, to: spec.to!, subject: spec.subject });
      if (!deltaLinks) throw new Error(`puller ${spec.name}: a graph puller needs the ledger's delta links`);
      return graphTransport({
        ...access,
        puller: spec.name,
        folder: spec.folder,
        from: spec.from,
        deltaLinks,
      });
    }
  }
}

/** Delta links in the ledger's puller_delta_links. */
export function pgDeltaLinks(db: Queryable): DeltaLinks {
  return {
    async get(puller, folder) {
      const {
        rows: [r],
      } = await db.query<{ delta_link: string }>(
        "SELECT delta_link FROM puller_delta_links WHERE puller = $1 AND folder = $2",
        [puller, folder],
      );
      return r?.delta_link;
    },
    async set(puller, folder, link) {
      await db.query(
        `INSERT INTO puller_delta_links (puller, folder, delta_link) VALUES ($1, $2, $3)
                      ON CONFLICT (puller, folder) DO UPDATE SET delta_link = excluded.delta_link, updated_at = now()`,
        [puller, folder, link],
      );
    },
    async clear(puller, folder) {
      await db.query("DELETE FROM puller_delta_links WHERE puller = $1 AND folder = $2", [puller, folder]);
    },
  };
}

/** In AWS: a puller's secret from Secrets Manager, a JSON object {password?, private_key?, client_secret?}. */
export function secretsManagerReader(region: string): SecretReader {
  return async (secretId) => {
    const { GetSecretValueCommand, SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
    const r = await new SecretsManagerClient({ region }).send(new GetSecretValueCommand({ SecretId: secretId }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.SecretString ?? "");
    } catch {
      throw new Error(`secret ${secretId} is not a JSON object {password?, private_key?, client_secret?}`);
    }
    const s = parsed as Record<string, unknown>;
    const pick = (k: string) => (typeof s[k] === "string" ? (s[k] as string) : undefined);
    return { password: pick("password"), private_key: pick("private_key"), client_secret: pick("client_secret") };
  };
}
