import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { readAll } from "../imports/streams";
import { DeliveryUnknownError, type RemoteEntry, type Transport } from "../pullers/transport";

/** Where a mailbox folder's delta link is kept between runs (the ledger's puller_delta_links). */
export interface DeltaLinks {
  get(puller: string, folder: string): Promise<string | undefined>;
  set(puller: string, folder: string, link: string): Promise<void>;
  clear(puller: string, folder: string): Promise<void>;
}

/** An app registration's access to one mailbox (client credentials). */
export interface GraphAccess {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  mailbox: string;
  graphUrl: string;
  loginUrl: string;
  /** Requests in flight per mailbox (Graph throttles above 4). */
  concurrency?: number;
  /** Retries of a 429/503 (each after its Retry-After). */
  maxThrottleRetries?: number;
}

export interface GraphOptions extends GraphAccess {
  puller: string;
  folder: string;
  /** Only messages from this address (case-insensitive). */
  from?: string;
  deltaLinks: DeltaLinks;
}

interface Message {
  id: string;
  internetMessageId?: string;
  receivedDateTime?: string;
  from?: { emailAddress?: { address?: string } };
  "@removed"?: unknown;
}
interface Attachment {
  "@odata.type"?: string;
  id: string;
  name: string;
  size: number;
  lastModifiedDateTime?: string;
}

export class GraphError extends Error {
  override readonly name = "GraphError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A counting semaphore: at most `n` requests to the mailbox at once. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/**
 * One mailbox's Graph session: a client-credentials token (renewed before it expires, and once on
 * a 401), at most `concurrency` requests in flight, 429 and 503 waited out as Retry-After says.
 */
function graphSession(o: GraphAccess) {
  const base = o.graphUrl.replace(/\/$/, "");
  const user = `${base}/v1.0/users/${encodeURIComponent(o.mailbox)}`;
  const limit = limiter(o.concurrency ?? 4);
  let token: { value: string; until: number } | undefined;

  async function accessToken(): Promise<string> {
    if (token && token.until > Date.now() + 60_000) return token.value;
    const res = await fetch(`${o.loginUrl.replace(/\/$/, "")}/${encodeURIComponent(o.tenantId)}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: o.clientId,
        client_secret: o.clientSecret,
        scope: "https://graph.microsoft.com/.default",
        grant_type: "client_credentials",
      }),
    });
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (!res.ok || !body.access_token)
      throw new GraphError(
        `token request refused (${res.status}): ${body.error ?? ""} ${body.error_description ?? ""}`.trim(),
        res.status,
      );
    token = { value: body.access_token, until: Date.now() + (body.expires_in ?? 3600) * 1000 };
    return token.value;
  }

  /**
   * One request, within the mailbox's concurrency, waiting out 429/503 as Retry-After says.
   * `auth: false` for an upload session's URL, which carries its own token (Graph: no Authorization header there).
   */
  async function request(url: string, init: RequestInit = {}, auth = true): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const res = await limit(async () =>
        fetch(
          url,
          auth ? { ...init, headers: { ...init.headers, authorization: `Bearer ${await accessToken()}` } } : init,
        ),
      );
      if ((res.status === 429 || res.status === 503) && attempt < (o.maxThrottleRetries ?? 5)) {
        await res.body?.cancel();
        const after = Number(res.headers.get("retry-after"));
        await new Promise((r) =>
          setTimeout(r, (Number.isFinite(after) && after > 0 ? Math.min(after, 120) : 2 ** attempt) * 1000),
        );
        continue;
      }
      if (res.status === 401 && attempt === 0 && auth) {
        await res.body?.cancel();
        token = undefined;
        continue;
      }
      return res;
    }
  }

  /** Throws a GraphError naming the request unless the answer is one of `ok` (default: any 2xx). */
  async function expectOk(res: Response, what: string, ok?: number[]): Promise<Response> {
    if (ok ? ok.includes(res.status) : res.ok) return res;
    throw new GraphError(`${what} answered ${res.status}: ${(await res.text()).slice(0, 300)}`, res.status);
  }

  async function json<T>(url: string, init?: RequestInit): Promise<T> {
    const res = await expectOk(await request(url, init), `${init?.method ?? "GET"} ${new URL(url).pathname}`);
    return (await res.json()) as T;
  }

  return { user, request, expectOk, json };
}

/**
 * A Microsoft 365 mailbox folder through Microsoft Graph (plain fetch): a client-credentials
 * token, the folder's messages by delta query (the delta link kept between runs, only after a run
 * landed everything; an expired link, HTTP 410, resyncs from the start and the ledger keeps
 * anything from landing twice), every message's attachments listed (hasAttachments is not
 * reliable), file attachments streamed from $value; 429 and 503 wait for Retry-After.
 */
export function graphTransport(o: GraphOptions): Transport {
  const { user, request, json } = graphSession(o);
  let pendingDelta: string | undefined;
  const byPath = new Map<string, { messageId: string; attachmentId: string }>();

  /** The folder's changed messages since the kept delta link (all of them on a first run or after a 410). */
  async function changedMessages(): Promise<Message[]> {
    const first = `${user}/mailFolders/${encodeURIComponent(o.folder)}/messages/delta?$select=internetMessageId,receivedDateTime,from,subject`;
    let url = (await o.deltaLinks.get(o.puller, o.folder)) ?? first;
    const messages: Message[] = [];
    for (;;) {
      let page: { value: Message[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };
      try {
        page = await json(url);
      } catch (err) {
        if (err instanceof GraphError && err.status === 410 && url !== first) {
          // The delta link expired: start over; the ledger answers 'already-landed' for what was landed.
          await o.deltaLinks.clear(o.puller, o.folder);
          messages.length = 0;
          url = first;
          continue;
        }
        throw err;
      }
      messages.push(...page.value.filter((m) => !m["@removed"]));
      if (page["@odata.nextLink"]) url = page["@odata.nextLink"];
      else {
        pendingDelta = page["@odata.deltaLink"];
        return messages;
      }
    }
  }

  async function attachmentsOf(m: Message): Promise<Attachment[]> {
    const out: Attachment[] = [];
    let url: string | undefined =
      `${user}/messages/${encodeURIComponent(m.id)}/attachments?$select=id,name,size,lastModifiedDateTime`;
    while (url) {
      const page: { value: Attachment[]; "@odata.nextLink"?: string } = await json(url);
      out.push(
        ...page.value.filter(
          (a) => a["@odata.type"] === undefined || a["@odata.type"] === "#microsoft.graph.fileAttachment",
        ),
      );
      url = page["@odata.nextLink"];
    }
    return out;
  }

  return {
    describe: `graph://${o.mailbox}/${o.folder}`,
    async list() {
      const from = o.from?.toLowerCase();
      const messages = (await changedMessages()).filter(
        (m) => !from || m.from?.emailAddress?.address?.toLowerCase() === from,
      );
      const lists = await Promise.all(messages.map(async (m) => ({ m, attachments: await attachmentsOf(m) })));
      const entries: RemoteEntry[] = [];
      for (const { m, attachments } of lists) {
        const messageKey = m.internetMessageId ?? m.id;
        for (const a of attachments) {
          const p = `${messageKey}/${a.name}`;
          byPath.set(p, { messageId: m.id, attachmentId: a.id });
          entries.push({
            path: p,
            name: path.posix.basename(a.name),
            size: a.size,
            exactSize: false,
            modifiedAt: new Date(m.receivedDateTime ?? a.lastModifiedDateTime ?? 0),
          });
        }
      }
      return entries;
    },
    async read(entry) {
      const ids = byPath.get(entry.path);
      if (!ids) throw new Error(`${entry.path} was not listed by this run`);
      const url = `${user}/messages/${encodeURIComponent(ids.messageId)}/attachments/${encodeURIComponent(ids.attachmentId)}/$value`;
      const res = await request(url);
      if (!res.ok || !res.body) throw new GraphError(`GET attachment $value answered ${res.status}`, res.status);
      return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    },
    async archive(entry, dir) {
      const ids = byPath.get(entry.path);
      if (!ids) throw new Error(`${entry.path} was not listed by this run`);
      const res = await request(`${user}/messages/${encodeURIComponent(ids.messageId)}/move`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ destinationId: dir }),
      });
      if (!res.ok) throw new GraphError(`moving the message answered ${res.status}`, res.status);
      await res.body?.cancel();
    },
    async commit() {
      if (pendingDelta) await o.deltaLinks.set(o.puller, o.folder, pendingDelta);
    },
    async close() {
      byPath.clear();
    },
  };
}

export interface GraphMailOptions extends GraphAccess {
  /** The recipients of the e-mail that carries the file. */
  to: readonly string[];
  /** The subject; "{name}" is replaced by the file name. */
  subject: string;
  /** Bytes per upload-session request (a multiple of 320 KiB under Graph's 4 MB; tests lower it). */
  uploadChunkBytes?: number;
}

/** Graph: a file under 3 MB goes inline (fileAttachment contentBytes); a larger one through an upload session. */
export const INLINE_ATTACHMENT_LIMIT = 3 * 1024 * 1024;
/** Ten times 320 KiB: 3.1 MiB per PUT of an upload session, under Graph's 4 MB per request. */
const UPLOAD_CHUNK_BYTES = 10 * 327_680;
/**
 * A named extended property that marks every delivery's message with `<file name>:<sha256>`, so a
 * later run finds a message sent by a run that crashed before recording it ($filter on the property).
 */
export const DELIVERY_PROPERTY = "String {6f0d3c52-8a3e-4d7b-9b1c-2e4f5a6b7c8d} Name LeadpipeDelivery";

/** The stream in pieces of exactly `size` bytes (the last one shorter). */
async function* piecesOf(body: Readable, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    held.push(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    while (bytes >= size) {
      const all = Buffer.concat(held);
      yield all.subarray(0, size);
      held = [all.subarray(size)];
      bytes -= size;
    }
  }
  if (bytes > 0) yield Buffer.concat(held);
}

/**
 * An outbound e-mail destination through Microsoft Graph: the file is sent from `mailbox` to
 * `to` as an attachment — under 3 MB inline with `sendMail`; larger as a draft message whose
 * attachment goes up through `createUploadSession` (byte ranges under 4 MB, no Authorization
 * header on the session's URL), then `send`. Every message carries the delivery's marker, so
 * `delivered` finds a message a crashed run sent. A lost answer to the final send is a
 * DeliveryUnknownError: not retried blind, the next run checks the mailbox first.
 */
export function graphMailTransport(o: GraphMailOptions): Transport {
  const { user, request, expectOk, json } = graphSession(o);
  const chunkBytes = o.uploadChunkBytes ?? UPLOAD_CHUNK_BYTES;
  const marked = (name: string, sha256: string) => `${name}:${sha256}`;
  const finalSend = async (what: string, url: string, init: RequestInit): Promise<Response> => {
    try {
      return await expectOk(await request(url, init), what, [202]);
    } catch (err) {
      if (err instanceof GraphError) throw err;
      throw new DeliveryUnknownError(
        `${what}: no answer (${(err as Error).message}); the next run checks the mailbox`,
        {
          cause: err,
        },
      );
    }
  };
  const post = (body: unknown): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

  return {
    describe: `graph-mail://${o.mailbox} to ${o.to.join(", ")}`,
    async list() {
      throw new Error("an e-mail destination sends files; it lists nothing");
    },
    async read() {
      throw new Error("an e-mail destination sends files; it reads nothing");
    },
    async delivered(remotePath, file) {
      const name = path.posix.basename(remotePath);
      const marker = marked(name, file.sha256).replaceAll("'", "''");
      const query = new URLSearchParams({
        $filter: `singleValueExtendedProperties/Any(ep: ep/id eq '${DELIVERY_PROPERTY}' and ep/value eq '${marker}')`,
        $select: "id,isDraft,sentDateTime,internetMessageId",
      });
      const found = await json<{
        value: { id: string; isDraft: boolean; sentDateTime?: string; internetMessageId?: string }[];
      }>(`${user}/messages?${query}`);
      const sent = found.value.find((m) => !m.isDraft);
      if (sent)
        return `sent before as ${sent.internetMessageId ?? sent.id} at ${sent.sentDateTime ?? "?"} (found in ${o.mailbox})`;
      // Drafts of an interrupted large send: removed, a new one is made.
      for (const d of found.value)
        await request(`${user}/messages/${encodeURIComponent(d.id)}`, { method: "DELETE" }).then((r) =>
          r.body?.cancel(),
        );
      return undefined;
    },
    async upload(body, remotePath, file) {
      const name = path.posix.basename(remotePath);
      const message = {
        subject: o.subject.replaceAll("{name}", name),
        body: { contentType: "Text", content: `${name}: ${file.size} bytes, sha256 ${file.sha256}` },
        toRecipients: o.to.map((address) => ({ emailAddress: { address } })),
        singleValueExtendedProperties: [{ id: DELIVERY_PROPERTY, value: marked(name, file.sha256) }],
      };
      const to = o.to.join(", ");
      if (file.size < INLINE_ATTACHMENT_LIMIT) {
        const content = await readAll(body);
        if (content.length !== file.size)
          throw new Error(`${name}: ${content.length} bytes read, ${file.size} expected`);
        const attachment = {
          "@odata.type": "#microsoft.graph.fileAttachment",
          name,
          contentType: "text/csv",
          contentBytes: content.toString("base64"),
        };
        await finalSend(
          "POST sendMail",
          `${user}/sendMail`,
          post({ message: { ...message, attachments: [attachment] }, saveToSentItems: true }),
        );
        return `sendMail accepted (202): ${name} (${file.size} bytes, inline) to ${to}`;
      }
      const draft = await json<{ id: string }>(`${user}/messages`, post(message));
      const messageUrl = `${user}/messages/${encodeURIComponent(draft.id)}`;
      const session = await json<{ uploadUrl: string }>(
        `${messageUrl}/attachments/createUploadSession`,
        post({ AttachmentItem: { attachmentType: "file", name, size: file.size, contentType: "text/csv" } }),
      );
      let offset = 0;
      for await (const piece of piecesOf(body, chunkBytes)) {
        const end = offset + piece.length - 1;
        const res = await request(
          session.uploadUrl,
          {
            method: "PUT",
            headers: {
              "content-type": "application/octet-stream",
              "content-range": `bytes ${offset}-${end}/${file.size}`,
            },
            body: piece,
          },
          false,
        );
        await expectOk(res, `PUT bytes ${offset}-${end} of the upload session`, end + 1 === file.size ? [201] : [200]);
        await res.body?.cancel();
        offset = end + 1;
      }
      if (offset !== file.size) throw new Error(`${name}: ${offset} bytes uploaded, ${file.size} expected`);
      await finalSend("POST send", `${messageUrl}/send`, { method: "POST" });
      return `sent (202) with an upload session: ${name} (${file.size} bytes, ${Math.ceil(file.size / chunkBytes)} ranges) to ${to}`;
    },
    async close() {},
  };
}
