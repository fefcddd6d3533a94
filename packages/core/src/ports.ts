import type { Readable } from "node:stream";
import type { Pool } from "./db";
import type { Logger } from "./log";

/** The object store (S3, or the local S3-compatible endpoint). */
export interface ObjectStore {
  head(bucket: string, key: string): Promise<{ size: number; etag?: string; metadata: Record<string, string> }>;
  /**
   * The object's bytes, or the inclusive byte range [start, end]. With `ifMatch` (an ETag), an
   * object that is no longer that version is refused with a FileRejectedError (it was replaced
   * while being imported; its new content arrives as an import of its own).
   */
  read(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
    options?: { ifMatch?: string },
  ): Promise<Readable>;
  /** A Readable body is streamed (multipart), so a large report never sits in memory whole. */
  write(bucket: string, key: string, body: Buffer | string | Readable, contentType?: string): Promise<void>;
}

/** Failure alerts (SNS in AWS; the console and a file locally). */
export interface Notifier {
  alert(subject: string, message: string): Promise<void>;
}

/** Starts the ingest state machine for an import; starting the same name twice is a no-op. */
export interface ExecutionStarter {
  start(name: string, input: Record<string, unknown>): Promise<void>;
}

/**
 * Whether an execution of the ingest state machine is still running: RUNNING, ENDED (succeeded,
 * failed, timed out or aborted) or MISSING (never started, or started by a platform that is gone).
 */
export interface ExecutionProbe {
  state(name: string): Promise<"RUNNING" | "ENDED" | "MISSING">;
}

export interface Settings {
  bucket: string;
  chunkRows: number;
  maxFileBytes: number;
  /** The most memory a workbook's shared-strings table may take while it is staged (default 1 GiB). */
  maxSharedStringBytes?: number;
}

/** What a use case may touch; handlers build it from the environment. */
export interface Deps {
  pool: Pool;
  store: ObjectStore;
  notifier: Notifier;
  log: Logger;
  settings: Settings;
}

/**
 * The one dependency shape of a use case: the parts of Deps it touches, and of `settings` only
 * the fields it reads, so a caller that has no ingest settings (the CLI publishing an audience)
 * passes what it has and nothing made up. `Needs<"pool" | "store", "bucket">` is
 * `{ pool; store; settings: { bucket } }`; a full Deps satisfies every Needs.
 */
export type Needs<K extends Exclude<keyof Deps, "settings">, S extends keyof Settings = never> = Pick<Deps, K> &
  ([S] extends [never] ? unknown : { settings: Pick<Settings, S> });
