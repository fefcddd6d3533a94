import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { RemoteEntry, Transport } from "../pullers/transport";

/** Where a mailbox folder's delta link is kept between runs (the ledger's puller_delta_links). */
export interface DeltaLinks {
  get(puller: string, folder: string): Promise<string | undefined>;
  set(puller: string, folder: string, link: string): Promise<void>;
  clear(puller: string, folder: string): Promise<void>;
}

export interface GraphOptions {
  puller: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  mailbox: string;
  folder: string;
  /** Only messages from this address (case-insensitive). */
  from?: string;
  graphUrl: string;
  loginUrl: string;
  deltaLinks: DeltaLinks;
  /** Requests in flight per mailbox (Graph throttles above 4). */
  concurrency?: number;
  /** Retries of a 429/503 (each after its Retry-After). */
  maxThrottleRetries?: number;
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
 * A Microsoft 365 mailbox folder through Microsoft Graph (plain fetch): a client-credentials
 * token, the folder's messages by delta query (the delta link kept between runs, only after a run
 * landed everything; an expired link, HTTP 410, resyncs from the start and the ledger keeps
 * anything from landing twice), every message's attachments listed (hasAttachments is not
 * reliable), file attachments streamed from $value; 429 and 503 wait for Retry-After.
 */
export function graphTransport(o: GraphOptions): Transport {
  const base = o.graphUrl.replace(/\/$/, "");
  const user = `${base}/v1.0/users/${encodeURIComponent(o.mailbox)}`;
  const limit = limiter(o.concurrency ?? 4);
  let token: { value: string; until: number } | undefined;
  let pendingDelta: string | undefined;
  const byPath = new Map<string, { messageId: string; attachmentId: string }>();

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

  /** One request, within the mailbox's concurrency, waiting out 429/503 as Retry-After says. */
  async function request(url: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const res = await limit(async () =>
        fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${await accessToken()}` } }),
      );
      if ((res.status === 429 || res.status === 503) && attempt < (o.maxThrottleRetries ?? 5)) {
        await res.body?.cancel();
        const after = Number(res.headers.get("retry-after"));
        await new Promise((r) =>
          setTimeout(r, (Number.isFinite(after) && after > 0 ? Math.min(after, 120) : 2 ** attempt) * 1000),
        );
        continue;
      }
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        token = undefined;
        continue;
      }
      return res;
    }
  }

  async function json<T>(url: string): Promise<T> {
    const res = await request(url);
    if (!res.ok)
      throw new GraphError(
        `GET ${new URL(url).pathname} answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
        res.status,
      );
    return (await res.json()) as T;
  }

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
