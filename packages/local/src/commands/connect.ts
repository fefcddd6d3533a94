import { createLogger, createPool, type Deps, type Notifier } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { homePaths } from "../home";
import { mirrorObject } from "../mirror";
import { LocalPlatform } from "../platform";
import { fileNotifier } from "../pullers";
import { readRuntime } from "../runtime-file";

/** What a command that writes files for people needs: the database, the bucket, and the mirror of what it wrote. */
export interface Connection {
  deps: Pick<Deps, "pool" | "store" | "settings" | "log">;
  /** LEADPIPE_HOME of the platform (its pullers.json, its alerts). */
  home: string;
  /** Alerts: the platform's topic when it runs here, else its alert file. */
  notifier: Notifier;
  /**
   * The object `key` this command wrote, as a plain file under LEADPIPE_HOME (mirror.ts): its
   * path, or undefined when the key cannot be a file path there or the copy failed (never throws:
   * the object itself is written).
   */
  mirror(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * The running platform's database and bucket (npm start in another terminal), else a platform
 * started for this command. `log` gets the platform's lines when the command starts one.
 */
export async function connect(log: (line: string) => void): Promise<Connection> {
  const running = readRuntime();
  if (running) {
    const pool = createPool(running.databaseUrl, 2);
    const store = s3Store(createS3Client(running.s3Endpoint));
    return {
      deps: { pool, store, log: cliLogger(), settings: { bucket: running.bucket, chunkRows: 0, maxFileBytes: 0 } },
      home: homePaths().root,
      notifier: fileNotifier(),
      // The running platform mirrors it too, when its event arrives; copying here means the path printed exists.
      // The object is written either way: a copy that fails is said on stderr, and no path is printed.
      mirror: (key) =>
        mirrorObject(store, running.bucket, key, homePaths().root).catch((err: Error) => {
          process.stderr.write(
            `could not copy s3://${running.bucket}/${key} under ${homePaths().root}: ${err.message}\n`,
          );
          return undefined;
        }),
      close: () => pool.end(),
    };
  }
  const platform = await LocalPlatform.start({ log });
  return platformConnection(platform, () => platform.close());
}

/** A platform running in this process (started for a command, or by a test): it mirrors what is written to it. */
export function platformConnection(platform: LocalPlatform, close = async (): Promise<void> => undefined): Connection {
  const settings = { bucket: platform.bucket, chunkRows: 0, maxFileBytes: 0 };
  return {
    deps: { pool: platform.pool, store: s3Store(platform.s3), log: cliLogger(), settings },
    home: platform.paths.root,
    notifier: snsNotifier(createSnsClient(process.env.SNS_ENDPOINT), platform.topicArn),
    mirror: (key) => platform.mirror(key),
    close,
  };
}

function cliLogger() {
  return createLogger({ service: "leadpipe-cli" });
}
