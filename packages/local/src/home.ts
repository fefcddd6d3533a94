import path from "node:path";

/** Everything the local platform keeps lives under LEADPIPE_HOME (default ./.leadpipe). */
export function homePaths(home = process.env.LEADPIPE_HOME ?? ".leadpipe") {
  const root = path.resolve(home);
  return {
    root,
    pg: path.join(root, "pg"),
    s3: path.join(root, "s3"),
    inbox: path.join(root, "inbox"),
    processed: path.join(root, "inbox", ".processed"),
    alerts: path.join(root, "alerts.log"),
    runtime: path.join(root, "runtime.json"),
    /** Generated database passwords (mode 0600). */
    secrets: path.join(root, "secrets.json"),
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
