import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small Microsoft Graph for the pullers' tests, on 127.0.0.1, following Graph's documented
 * shapes: the v2.0 client-credentials token endpoint; GET /v1.0/users/{mailbox}/mailFolders/
 * {folder}/messages/delta paged with @odata.nextLink and ending in @odata.deltaLink; a delta
 * link answering only what changed since, or 410 Gone once expired; message attachments paged;
 * $value streaming the bytes; 429 with Retry-After on demand. It counts requests in flight.
 */
export interface FakeMessage {
  id: string;
  internetMessageId: string;
  receivedDateTime: string;
  from: string;
  subject: string;
  /** Graph's flag, which is not reliable: the puller must list attachments anyway. */
  hasAttachments: boolean;
  attachments: { id: string; name: string; content: Buffer }[];
  folder: string;
  seq: number;
}

export interface FakeGraph {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  mailbox: string;
  /** Adds a message to a folder (default inbox); returns it. */
  deliver(m: {
    from: string;
    subject?: string;
    attachments: { name: string; content: string | Buffer }[];
    hasAttachments?: boolean;
    folder?: string;
  }): FakeMessage;
  /** Delta links issued so far answer 410 Gone from now on. */
  expireDeltaLinks(): void;
  /** The next `n` Graph requests answer 429 with Retry-After: `seconds`. */
  throttle(n: number, seconds: number): void;
  readonly stats: {
    requests: number;
    throttled: number;
    maxInFlight: number;
    gone: number;
    valueRequests: number;
    moved: string[];
  };
  close(): Promise<void>;
}

const PAGE = 2;

export async function startFakeGraph(): Promise<FakeGraph> {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomUUID();
  const mailbox = "partners@leadpipe.example";
  const tokens = new Set<string>();
  const messages: FakeMessage[] = [];
  let seq = 0;
  const issued = new Set<string>();
  const expired = new Set<string>();
  let links = 0;
  let throttleLeft = 0;
  let throttleSeconds = 1;
  let inFlight = 0;
  const stats = { requests: 0, throttled: 0, maxInFlight: 0, gone: 0, valueRequests: 0, moved: [] as string[] };
  let base = "";

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const graphError = (
    res: http.ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => send(res, status, { error: { code, message } }, headers);
  const view = (m: FakeMessage) => ({
    id: m.id,
    internetMessageId: m.internetMessageId,
    receivedDateTime: m.receivedDateTime,
    subject: m.subject,
    hasAttachments: m.hasAttachments,
    from: { emailAddress: { address: m.from, name: m.from } },
  });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, base);
    if (req.method === "POST" && url.pathname === `/${tenantId}/oauth2/v2.0/token`) {
      let raw = "";
      for await (const c of req) raw += c;
      const form = new URLSearchParams(raw);
      if (
        form.get("grant_type") !== "client_credentials" ||
        form.get("client_id") !== clientId ||
        form.get("client_secret") !== clientSecret
      ) {
        return send(res, 401, {
          error: "invalid_client",
          error_description: "AADSTS7000215: Invalid client secret provided.",
        });
      }
      const t = randomUUID();
      tokens.add(t);
      return send(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: t });
    }
    stats.requests++;
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    res.on("close", () => {
      inFlight--;
    });
    // Every request holds a moment, so that concurrent ones overlap as they would over a network.
    await new Promise((r) => setTimeout(r, 15));
    if (!tokens.has((req.headers.authorization ?? "").replace(/^Bearer /, ""))) {
      return graphError(res, 401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
    }
    if (throttleLeft > 0) {
      throttleLeft--;
      stats.throttled++;
      return graphError(res, 429, "TooManyRequests", "Please retry again later.", {
        "retry-after": String(throttleSeconds),
      });
    }
    const prefix = `/v1.0/users/${encodeURIComponent(mailbox)}`;
    if (!url.pathname.startsWith(prefix))
      return graphError(res, 404, "ErrorInvalidUser", "The requested user is invalid.");
    const rest = url.pathname.slice(prefix.length);
    let m: RegExpExecArray | null;
    if ((m = /^\/mailFolders\/([^/]+)\/messages\/delta$/.exec(rest))) {
      const folder = decodeURIComponent(m[1]!);
      const deltaToken = url.searchParams.get("$deltatoken");
      const skip = Number(url.searchParams.get("$skiptoken") ?? 0);
      const since = Number(url.searchParams.get("since") ?? deltaToken?.split("-")[0] ?? 0);
      if (deltaToken !== null && (expired.has(deltaToken) || !issued.has(deltaToken))) {
        stats.gone++;
        return graphError(
          res,
          410,
          "SyncStateNotFound",
          "The sync state generation is not found. Full sync is required.",
        );
      }
      const changed = messages.filter((x) => x.folder === folder && x.seq > since);
      const page = changed.slice(skip, skip + PAGE);
      const more = skip + PAGE < changed.length;
      const self = `${base}${prefix}/mailFolders/${m[1]}/messages/delta`;
      const token = `${seq}-${++links}`;
      if (!more) issued.add(token);
      return send(res, 200, {
        "@odata.context": `${base}/v1.0/$metadata#Collection(message)`,
        value: page.map(view),
        ...(more
          ? { "@odata.nextLink": `${self}?since=${since}&$skiptoken=${skip + PAGE}` }
          : { "@odata.deltaLink": `${self}?$deltatoken=${token}` }),
      });
    }
    if ((m = /^\/messages\/([^/]+)\/attachments$/.exec(rest))) {
      const msg = messages.find((x) => x.id === decodeURIComponent(m![1]!));
      if (!msg) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      const skip = Number(url.searchParams.get("$skip") ?? 0);
      const page = msg.attachments.slice(skip, skip + 1);
      const more = skip + 1 < msg.attachments.length;
      return send(res, 200, {
        value: page.map((a) => ({
          "@odata.type": "#microsoft.graph.fileAttachment",
          id: a.id,
          name: a.name,
          size: a.content.length,
          lastModifiedDateTime: msg.receivedDateTime,
          contentType: "text/csv",
        })),
        ...(more ? { "@odata.nextLink": `${base}${url.pathname}?$skip=${skip + 1}` } : {}),
      });
    }
    if ((m = /^\/messages\/([^/]+)\/attachments\/([^/]+)\/\$value$/.exec(rest))) {
      stats.valueRequests++;
      const msg = messages.find((x) => x.id === decodeURIComponent(m![1]!));
      const a = msg?.attachments.find((x) => x.id === decodeURIComponent(m![2]!));
      if (!a) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(a.content.length) });
      return res.end(a.content);
    }
    if (req.method === "POST" && (m = /^\/messages\/([^/]+)\/move$/.exec(rest))) {
      let raw = "";
      for await (const c of req) raw += c;
      const msg = messages.find((x) => x.id === decodeURIComponent(m![1]!));
      if (!msg) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      msg.folder = (JSON.parse(raw) as { destinationId: string }).destinationId;
      stats.moved.push(msg.internetMessageId);
      return send(res, 201, view(msg));
    }
    return graphError(res, 400, "BadRequest", `Unsupported request ${req.method} ${url.pathname}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    tenantId,
    clientId,
    clientSecret,
    mailbox,
    stats,
    deliver(d) {
      seq++;
      const msg: FakeMessage = {
        id: `AAMk${createHash("sha256").update(String(seq)).digest("hex").slice(0, 24)}`,
        internetMessageId: `<${randomUUID()}@partner.example>`,
        receivedDateTime: new Date(Date.UTC(2026, 11, 1, 6, 0, seq)).toISOString(),
        from: d.from,
        subject: d.subject ?? "daily file",
        hasAttachments: d.hasAttachments ?? true,
        folder: d.folder ?? "inbox",
        seq,
        attachments: d.attachments.map((a, i) => ({
          id: `att-${seq}-${i}`,
          name: a.name,
          content: Buffer.from(a.content),
        })),
      };
      messages.push(msg);
      return msg;
    },
    expireDeltaLinks() {
      for (const t of issued) expired.add(t);
    },
    throttle(n, seconds) {
      throttleLeft = n;
      throttleSeconds = seconds;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
