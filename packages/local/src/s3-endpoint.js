// The local S3-compatible endpoint (s3rver) in a process of its own, started by LocalPlatform.startS3:
// serving uploads and reads (their MD5s, file I/O, HTTP) no longer takes turns with the platform's
// main thread, which hashes, plans chunks and runs the state machine meanwhile. Object-created
// events go to the parent as IPC messages (s3rver emits them before it answers the request that
// wrote the object); the process ends when the parent says "close" or goes away.
import "./quiet-warnings.js";
import S3rver from "s3rver";
import FilesystemStore from "s3rver/lib/stores/filesystem.js";
import { storeEveryKey } from "./s3-names.js";

const { port, directory, bucket } = JSON.parse(process.argv[2] ?? "{}");
storeEveryKey(FilesystemStore, directory);
// One request that fails where s3rver does not catch it must not take the endpoint down for every later one.
process.on("uncaughtException", (err) => process.stderr.write(`local S3 endpoint: ${err.stack ?? err}\n`));
const server = new S3rver({
  address: "127.0.0.1",
  port,
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run();
// Node closes idle keep-alive sockets after 5 s, racing a client that reuses one ("socket hang
// up"); the SDK's agent keeps them open, so keep them open on this side too.
if (server.httpServer) server.httpServer.keepAliveTimeout = 10 * 60_000;
server.on("event", (event) => process.send?.({ event }));
process.on("message", (message) => {
  // Answered after every event already sent: the parent then knows it has them all (LocalPlatform.mirrored).
  if (message && typeof message === "object" && "flush" in message) {
    process.send?.({ flushed: message.flush });
    return;
  }
  if (message !== "close") return;
  server.httpServer?.closeAllConnections?.();
  void server.close().finally(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
process.send?.({ port: address.port });
