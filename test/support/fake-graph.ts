import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small Microsoft Graph for the pullers' tests, on 127.0.0.1, following Graph's documented
 * shapes: the v2.0 client-credentials token endpoint; GET /v1.0/users/{mailbox}/mailFolders/
 * {folder}/messages/delta paged with @odata.nextLink and ending in @odata.deltaLink; a delta
 * link answering only what changed since, or 410 Gone once expired; message attachments paged;
 * $value streaming the bytes; 429 with Retry-After on demand. It counts requests in flight.
 * Outbound: POST /users/{mailbox}/sendMail (fileAttachment contentBytes inline, a request of at
 * most 4 MB), draft messages (POST /users/{mailbox}/messages) with attachments uploaded through
 * createUploadSession (PUT byte ranges under 4 MB to the pre-authenticated uploadUrl, which refuses
 * an Authorization header; 200 with nextExpectedRanges, 201 at the end), POST .../send (202), and
 * GET /users/{mailbox}/messages filtered on a single-value extended property.
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
  /** Messages sent from the mailbox (sendMail, or a draft sent), in order, and drafts not sent. */
  readonly mails: FakeMail[];
  /** The next `n` sendMail / send requests answer `status` (nothing is sent). */
  failSends(n: number, status: number): void;
  /** The next `n` sends are carried out, but the connection drops before the answer (the answer is lost). */
  dropSendAnswers(n: number): void;
  /** From now on (until called with false) a send is carried out but never answered (the sender dies meanwhile). */
  holdSends(on: boolean): void;
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
    /** PUT requests to upload sessions, and their largest byte range. */
    uploadRanges: number;
    largestRange: number;
  };
  close(): Promise<void>;
}

export interface FakeMail {
  id: string;
  internetMessageId: string;
  isDraft: boolean;
  sentDateTime?: string;
  subject: string;
  to: string[];
  /** Single-value extended properties: id -> value. */
  properties: Record<string, string>;
  attachments: { name: string; content: Buffer }[];
  via: "sendMail" | "upload-session";
}

const PAGE = 2;
/** Graph refuses requests larger than 4 MB (sendMail bodies, upload-session ranges). */
const MAX_REQUEST = 4 * 1024 * 1024;

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

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
  const stats = {
    requests: 0,
    throttled: 0,
    maxInFlight: 0,
    gone: 0,
    valueRequests: 0,
    moved: [] as string[],
    uploadRanges: 0,
    largestRange: 0,
  };
  const mails: FakeMail[] = [];
  const uploads = new Map<string, { mail: FakeMail; name: string; size: number; parts: Buffer[]; next: number }>();
  let failLeft = 0;
  let failStatus = 500;
  let hold = false;
  let dropLeft = 0;
  const held: http.ServerResponse[] = [];
  /** A send about to be carried out: false when it is to fail (answered here), or held (never answered). */
  const sendGate = (res: http.ServerResponse): "fail" | "hold" | "go" => {
    if (failLeft > 0) {
      failLeft--;
      graphError(res, failStatus, "ErrorInternalServerError", "The send failed (injected by the test).");
      return "fail";
    }
    return hold ? "hold" : "go";
  };
  const sent = (mail: FakeMail, res: http.ServerResponse, gate: "hold" | "go") => {
    mail.isDraft = false;
    mail.sentDateTime = new Date().toISOString();
    if (gate === "hold") held.push(res);
    else if (dropLeft > 0) {
      dropLeft--;
      res.socket?.destroy();
    } else {
      res.writeHead(202);
      res.end();
    }
  };
  const newMail = (
    message: {
      subject?: string;
      toRecipients?: { emailAddress?: { address?: string } }[];
      singleValueExtendedProperties?: { id: string; value: string }[];
    },
    via: FakeMail["via"],
  ): FakeMail => ({
    id: `AAMkOut${randomUUID().replaceAll("-", "")}`,
    internetMessageId: `<${randomUUID()}@leadpipe.example>`,
    isDraft: true,
    subject: message.subject ?? "",
    to: (message.toRecipients ?? []).map((r) => r.emailAddress?.address ?? ""),
    properties: Object.fromEntries((message.singleValueExtendedProperties ?? []).map((p) => [p.id, p.value])),
    attachments: [],
    via,
  });
  const mailView = (m: FakeMail) => ({
    id: m.id,
    internetMessageId: m.internetMessageId,
    isDraft: m.isDraft,
    subject: m.subject,
    ...(m.sentDateTime ? { sentDateTime: m.sentDateTime } : {}),
  });
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
    const upload = /^\/upload\/([^/]+)$/.exec(url.pathname);
    if (upload && req.method === "PUT") return putRange(req, res, upload[1]!);
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
    if (req.method === "POST" && rest === "/sendMail") {
      const raw = await body(req);
      if (raw.length > MAX_REQUEST)
        return graphError(res, 413, "RequestEntityTooLarge", "The request is larger than 4 MB: use an upload session.");
      const { message, saveToSentItems } = JSON.parse(raw.toString("utf8"));
      if (!message?.toRecipients?.length)
        return graphError(res, 400, "ErrorInvalidRecipients", "At least one recipient is required.");
      const mail = newMail(message, "sendMail");
      for (const a of message.attachments ?? []) {
        if (a["@odata.type"] !== "#microsoft.graph.fileAttachment" || typeof a.contentBytes !== "string")
          return graphError(
            res,
            400,
            "ErrorInvalidAttachment",
            "Only file attachments with contentBytes are supported.",
          );
        mail.attachments.push({ name: a.name, content: Buffer.from(a.contentBytes, "base64") });
      }
      const gate = sendGate(res);
      if (gate === "fail") return;
      if (saveToSentItems !== false) mails.push(mail);
      return sent(mail, res, gate);
    }
    if (req.method === "POST" && rest === "/messages") {
      const mail = newMail(JSON.parse((await body(req)).toString("utf8")), "upload-session");
      mails.push(mail);
      return send(res, 201, mailView(mail));
    }
    if (req.method === "GET" && rest === "/messages") {
      // Only the filter the delivery uses: singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…').
      const f =
        /^singleValueExtendedProperties\/Any\(ep: ep\/id eq '((?:[^']|'')*)' and ep\/value eq '((?:[^']|'')*)'\)$/.exec(
          url.searchParams.get("$filter") ?? "",
        );
      if (!f) return graphError(res, 400, "BadRequest", `Unsupported $filter ${url.searchParams.get("$filter")}`);
      const [id, value] = [f[1]!.replaceAll("''", "'"), f[2]!.replaceAll("''", "'")];
      return send(res, 200, { value: mails.filter((x) => x.properties[id] === value).map(mailView) });
    }
    const draft = (id: string) => mails.find((x) => x.id === decodeURIComponent(id) && x.isDraft);
    if (req.method === "DELETE" && (m = /^\/messages\/([^/]+)$/.exec(rest))) {
      const i = mails.findIndex((x) => x.id === decodeURIComponent(m![1]!));
      if (i < 0) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      mails.splice(i, 1);
      res.writeHead(204);
      return res.end();
    }
    if (req.method === "POST" && (m = /^\/messages\/([^/]+)\/attachments\/createUploadSession$/.exec(rest))) {
      const mail = draft(m[1]!);
      if (!mail) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      const { AttachmentItem: item } = JSON.parse((await body(req)).toString("utf8"));
      if (item?.attachmentType !== "file" || !item.name || !Number.isInteger(item.size))
        return graphError(res, 400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType file, name and size.");
      const token = randomUUID();
      uploads.set(token, { mail, name: item.name, size: item.size, parts: [], next: 0 });
      return send(res, 201, {
        "@odata.context": `${base}/v1.0/$metadata#microsoft.graph.uploadSession`,
        uploadUrl: `${base}/upload/${token}?authtoken=${randomUUID()}`,
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        nextExpectedRanges: ["0-"],
      });
    }
    if (req.method === "POST" && (m = /^\/messages\/([^/]+)\/send$/.exec(rest))) {
      const mail = draft(m[1]!);
      if (!mail) return graphError(res, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
      const gate = sendGate(res);
      if (gate === "fail") return;
      return sent(mail, res, gate);
    }
    return graphError(res, 400, "BadRequest", `Unsupported request ${req.method} ${url.pathname}`);
  });

  /** A byte range of an upload session: in order, under 4 MB, without an Authorization header. */
  async function putRange(req: http.IncomingMessage, res: http.ServerResponse, token: string) {
    const u = uploads.get(token);
    if (!u) return graphError(res, 404, "ItemNotFound", "The upload session was not found.");
    if (req.headers.authorization)
      return graphError(
        res,
        401,
        "InvalidAuthenticationToken",
        "Do not send an Authorization header to the upload URL.",
      );
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers["content-range"] ?? "");
    const piece = await body(req);
    if (!range) return graphError(res, 400, "InvalidRange", "Content-Range is required.");
    const [from, to, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (from !== u.next || to - from + 1 !== piece.length || total !== u.size || to >= total)
      return graphError(
        res,
        416,
        "InvalidRange",
        `Expected bytes ${u.next}- of ${u.size}, got ${req.headers["content-range"]} with ${piece.length} bytes.`,
      );
    if (piece.length > MAX_REQUEST) return graphError(res, 413, "RequestEntityTooLarge", "A range must be under 4 MB.");
    stats.uploadRanges++;
    stats.largestRange = Math.max(stats.largestRange, piece.length);
    u.parts.push(piece);
    u.next = to + 1;
    if (u.next < u.size)
      return send(res, 200, {
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        nextExpectedRanges: [`${u.next}-`],
      });
    uploads.delete(token);
    u.mail.attachments.push({ name: u.name, content: Buffer.concat(u.parts) });
    res.writeHead(201, {
      location: `${base}/v1.0/users/${encodeURIComponent(mailbox)}/messages/${u.mail.id}/attachments/att-${token}`,
    });
    res.end();
  }
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
    mails,
    failSends(n, status) {
      failLeft = n;
      failStatus = status;
    },
    dropSendAnswers(n) {
      dropLeft = n;
    },
    holdSends(on) {
      hold = on;
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
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
