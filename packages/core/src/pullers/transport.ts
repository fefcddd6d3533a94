import type { Readable } from "node:stream";
import type { HashPlace } from "./hasher";

/** One file the remote side lists (a file in a folder, or an e-mail attachment). */
export interface RemoteEntry {
  /** Where it is, unique within the puller (a remote path, or <message id>/<attachment name>). */
  path: string;
  /** The file name it lands under. */
  name: string;
  size: number;
  modifiedAt: Date;
  /** An ETag or hash where the server offers one. */
  remoteHash?: string;
  /** Exact byte count to verify while streaming (false where the listing's size is approximate, e.g. Graph). */
  exactSize?: boolean;
}

/**
 * A partner's server as the puller sees it. Adapters live at the edge (core/src/adapters/); a
 * dropped connection is re-established by the next call.
 */
export interface Transport {
  /** For messages: sftp://user@host:port/dir and the like, never a secret. */
  readonly describe: string;
  /**
   * Where a pull's sha256 runs (default a worker thread): "inline" for a transport whose reads
   * cost our thread little (FTPS: TLS is decrypted natively), where the worker's copy costs more
   * than it frees. Measured in docs/benchmarks/pullers.md.
   */
  readonly hashOn?: HashPlace;
  /** Every file where the puller looks (the puller applies its pattern and markers). */
  list(): Promise<RemoteEntry[]>;
  /** The file's bytes as a stream. */
  read(entry: RemoteEntry): Promise<Readable>;
  /** Moves the file into an archive folder. */
  archive?(entry: RemoteEntry, dir: string): Promise<void>;
  remove?(entry: RemoteEntry): Promise<void>;
  /** Sends a file (outbound); answers what the server said. */
  upload?(body: Readable, remotePath: string, file: OutboundFile): Promise<string>;
  /**
   * Outbound: whether this file (name and content) is at the receiver already, e.g. sent by a run
   * that crashed before it could record the send; answers what was found, or undefined.
   */
  delivered?(remotePath: string, file: OutboundFile): Promise<string | undefined>;
  /** Called when a run landed everything it listed (Graph keeps its delta link then). */
  commit?(): Promise<void>;
  close(): Promise<void>;
}

/** What an outbound file is: its byte count and content hash (the receiver's copy is checked against them). */
export interface OutboundFile {
  size: number;
  sha256: string;
}

/** The server may or may not have taken the file (its answer was lost): not retried until a later run checks. */
export class DeliveryUnknownError extends Error {
  override readonly name = "DeliveryUnknownError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server is not the one pinned (host key, certificate): nothing is fetched, an alert says why. */
export class TrustRefusedError extends Error {
  override readonly name = "TrustRefusedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The stream ended with another byte count than the listing said: nothing lands. */
export class SizeMismatchError extends Error {
  override readonly name = "SizeMismatchError";
}
