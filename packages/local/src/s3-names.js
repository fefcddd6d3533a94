// s3rver stores an object as files named after its key (…/<last segment>._S3rver_object), so a key
// S3 accepts (up to 1,024 bytes) can be a name the filesystem refuses: a segment over 255 bytes
// (ENAMETOOLONG, which took the endpoint down), or one that path.join rewrites ("..", "." and the
// empty segment of "a//b", which would even leave the bucket's folder). Such a segment is stored
// under a name made from its SHA-256, and the segment itself is kept in a folder beside the store's
// (`<store>.long-names/<hash>`) so listings give the key back. Every other key is stored as before.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";

/** Longest segment stored as it is: 255 bytes (NAME_MAX) less the longest s3rver suffix ("._S3rver_metadata.json"). */
const MAX_SEGMENT_BYTES = 200;
const MARK = "~lp-sha256-";

function mustHash(segment, last) {
  if (segment.startsWith(MARK)) return true;
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return true;
  // The last segment gets a suffix, so "." and ".." are harmless there; an empty last segment is a "folder/" key.
  return !last && (segment === "" || segment === "." || segment === "..");
}

/**
 * Makes s3rver's FilesystemStore (the class, before the server is built) store every key S3
 * accepts; `root` is the store's folder.
 */
export function storeEveryKey(FilesystemStore, root) {
  const names = `${path.resolve(root)}.long-names`;
  const known = new Map();
  const encode = FilesystemStore.encodeKeyPath.bind(FilesystemStore);
  const decode = FilesystemStore.decodeKeyPath.bind(FilesystemStore);
  FilesystemStore.encodeKeyPath = (key) => {
    const parts = key.split("/");
    return parts
      .map((segment, i) => {
        if (!mustHash(segment, i === parts.length - 1)) return encode(segment);
        const hash = MARK + createHash("sha256").update(segment).digest("hex");
        if (!known.has(hash)) {
          mkdirSync(names, { recursive: true });
          const file = path.join(names, hash);
          if (!existsSync(file)) writeFileSync(file, segment);
          known.set(hash, segment);
        }
        return hash;
      })
      .join("/");
  };
  FilesystemStore.decodeKeyPath = (keyPath) =>
    keyPath
      .split("/")
      .map((segment) => {
        if (!segment.startsWith(MARK)) return decode(segment);
        let original = known.get(segment);
        if (original === undefined) {
          original = readFileSync(path.join(names, segment), "utf8");
          known.set(segment, original);
        }
        return original;
      })
      .join("/");
}
