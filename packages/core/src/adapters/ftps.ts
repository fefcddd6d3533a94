import { readFileSync } from "node:fs";
import path from "node:path";
import { PassThrough, Writable, type Readable } from "node:stream";
import { Client, type FileInfo } from "basic-ftp";
import { TrustRefusedError, type RemoteEntry, type Transport } from "../pullers/transport";

export interface FtpsOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  tls: "explicit" | "implicit";
  /** A CA (or the self-signed certificate itself) to trust besides the system's. */
  caFile?: string;
  dir: string;
  timeoutMs?: number;
}

const CERT_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_UNTRUSTED",
]);

/**
 * FTPS (basic-ftp): TLS on the control and data channels always (never plain FTP), the data
 * channel resuming the control channel's TLS session (vsftpd's require_ssl_reuse=YES), the
 * certificate verified against the system CAs plus `caFile`.
 */
export function ftpsTransport(o: FtpsOptions): Transport {
  let client: Promise<Client> | undefined;
  const describe = `ftps://${o.username}@${o.host}:${o.port}${o.dir.startsWith("/") ? "" : "/"}${o.dir} (${o.tls} TLS)`;
  const ca = o.caFile ? readFileSync(o.caFile) : undefined;

  const connect = async (): Promise<Client> => {
    const c = new Client(o.timeoutMs ?? 30_000);
    try {
      await c.access({
        host: o.host,
        port: o.port,
        user: o.username,
        password: o.password,
        secure: o.tls === "implicit" ? "implicit" : true,
        secureOptions: { ...(ca ? { ca } : {}), rejectUnauthorized: true, servername: undefined },
      });
      return c;
    } catch (err) {
      c.close();
      const code = (err as { code?: string }).code;
      if (code && CERT_ERRORS.has(code)) {
        throw new TrustRefusedError(
          `the TLS certificate of ${o.host}:${o.port} is not trusted (${code}): refused (nothing was fetched)`,
          { cause: err },
        );
      }
      throw err;
    }
  };
  const ftp = async (): Promise<Client> => {
    const current = client ? await client.catch(() => undefined) : undefined;
    if (current && !current.closed) return current;
    client = connect();
    try {
      return await client;
    } catch (err) {
      client = undefined;
      throw err;
    }
  };
  const remotePath = (p: string) => (p.startsWith("/") ? p : path.posix.join(o.dir, p));

  return {
    describe,
    // TLS records are decrypted natively and arrive 16 kB at a time: hashing them where they
    // arrive costs less CPU than copying each into the worker's ring (docs/benchmarks/pullers.md).
    hashOn: "inline",
    async list() {
      const c = await ftp();
      const items: FileInfo[] = await c.list(o.dir);
      const out: RemoteEntry[] = [];
      for (const i of items.filter((f) => f.isFile)) {
        const p = path.posix.join(o.dir, i.name);
        // MDTM gives the time to the second; a LIST line often only to the minute.
        const modifiedAt = await c.lastMod(p).catch(() => i.modifiedAt ?? new Date(0));
        out.push({ path: p, name: i.name, size: i.size, modifiedAt });
      }
      return out;
    },
    async read(entry) {
      const c = await ftp();
      const out = new PassThrough({ highWaterMark: 1 << 20 });
      // basic-ftp ends its destination even after a failed transfer: the stream ends only on success.
      const sink = new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _e, cb) {
          if (out.write(chunk)) cb();
          else out.once("drain", () => cb());
        },
        final(cb) {
          cb();
        },
      });
      out.once("close", () => {
        if (!sink.writableFinished) sink.destroy();
      });
      c.downloadTo(sink, entry.path).then(
        () => out.end(),
        (err: Error) => out.destroy(err),
      );
      return out as Readable;
    },
    async archive(entry, dir) {
      const c = await ftp();
      await c.rename(entry.path, path.posix.join(remotePath(dir), entry.name));
    },
    async remove(entry) {
      await (await ftp()).remove(entry.path);
    },
    async upload(body, target) {
      const c = await ftp();
      const full = remotePath(target);
      const temp = path.posix.join(path.posix.dirname(full), `.${path.posix.basename(full)}.part`);
      const r = await c.uploadFrom(body, temp);
      await c.rename(temp, full);
      return `${full}: ${r.code} ${r.message}`;
    },
    async close() {
      const c = client;
      client = undefined;
      if (c) (await c.catch(() => undefined))?.close();
    },
  };
}
