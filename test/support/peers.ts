import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * Real servers for the pullers' tests, on 127.0.0.1: OpenSSH's sshd (SFTP) and vsftpd (FTPS),
 * each with its own config, keys and data folder. A peer that cannot start fails the test at once
 * with the reason (missing package, not root).
 */

export const SFTP_USER = "leadpipe-sftp";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 10 s: ${stderr()}`);
}

/** A local user for the test servers (created once, with no usable password and no login shell). */
export function ensureUser(name = SFTP_USER, shell = "/usr/sbin/nologin"): { uid: number; gid: number } {
  if (process.getuid?.() !== 0)
    throw new Error(`the pullers' tests create the local user ${name} and start sshd/vsftpd: run them as root`);
  try {
    execFileSync("id", ["-u", name], { stdio: "ignore" });
  } catch {
    // '*' (not '!'): a locked account is refused even with a key; '*' just has no password that can match.
    execFileSync("useradd", ["-M", "-d", "/nonexistent", "-s", shell, "-p", "*", name]);
  }
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function need(binary: string, pkg: string): void {
  try {
    execFileSync("test", ["-x", binary]);
  } catch {
    throw new Error(`${binary} is missing: install the Debian package ${pkg} (.ci/run does)`);
  }
}

/** Writes a file into a server's folder as its user would find it (owned by the user), optionally with a modification time. */
function writerFor(dir: string, uid: number, gid: number) {
  return (name: string, content: string | Buffer, mtime?: Date): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    chownSync(file, uid, gid);
    if (mtime) execFileSync("touch", ["-m", "-d", mtime.toISOString(), file]);
    return file;
  };
}

/** Stops a server this test started (by its own child handle), waiting for it to exit. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

export interface Sshd {
  port: number;
  /** The folder the SFTP user reads (owned by that user). */
  dir: string;
  hostKeyFingerprint: string;
  /** The fingerprint of another key (a "changed" host key). */
  otherFingerprint: string;
  clientKeyFile: string;
  uid: number;
  gid: number;
  /** Writes a file as the SFTP user would find it (owned by the user), optionally with a modification time. */
  write(name: string, content: string | Buffer, mtime?: Date): string;
  stop(): Promise<void>;
}

function fingerprintOf(pubFile: string): string {
  return execFileSync("ssh-keygen", ["-lf", pubFile, "-E", "sha256"], { encoding: "utf8" }).split(" ")[1]!;
}

export async function startSshd(): Promise<Sshd> {
  need("/usr/sbin/sshd", "openssh-server");
  const { uid, gid } = ensureUser();
  const root = mkdtempSync(path.join(os.tmpdir(), "leadpipe-sshd-"));
  chmodSync(root, 0o755);
  const dir = path.join(root, "data");
  mkdirSync(dir);
  chownSync(dir, uid, gid);
  const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
  keygen(path.join(root, "host_ed25519"));
  keygen(path.join(root, "other_ed25519"));
  keygen(path.join(root, "client_ed25519"));
  writeFileSync(path.join(root, "authorized_keys"), readFileSync(path.join(root, "client_ed25519.pub")));
  mkdirSync("/run/sshd", { recursive: true });
  const port = await freePort();
  const config = path.join(root, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(root, "host_ed25519")}`,
      `PidFile ${path.join(root, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(root, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "UsePAM no",
      "StrictModes no",
      `AllowUsers ${SFTP_USER}`,
      "Subsystem sftp internal-sftp",
      "ForceCommand internal-sftp",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  let err = "";
  const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  await waitForPort(port, child, "sshd", () => err);
  return {
    port,
    dir,
    uid,
    gid,
    hostKeyFingerprint: fingerprintOf(path.join(root, "host_ed25519.pub")),
    otherFingerprint: fingerprintOf(path.join(root, "other_ed25519.pub")),
    clientKeyFile: path.join(root, "client_ed25519"),
    write: writerFor(dir, uid, gid),
    async stop() {
      await stopChild(child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP relay in front of a server that can cut its connections once `cutAfterBytes` bytes have
 * flowed from the server (a connection killed mid-transfer).
 */
export async function startRelay(
  targetPort: number,
): Promise<{ port: number; cutAfter(bytes: number): void; close(): Promise<void> }> {
  let cutAt: number | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    let down = 0;
    upstream.on("data", (d: Buffer) => {
      down += d.length;
      if (cutAt !== undefined && down > cutAt) {
        cutAt = undefined;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    client.on("data", (d: Buffer) => upstream.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    cutAfter: (bytes) => {
      cutAt = bytes;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const FTP_USER = "leadpipe-ftp";

export interface Vsftpd {
  /** Explicit (AUTH TLS) and implicit TLS ports. */
  explicitPort: number;
  implicitPort: number;
  dir: string;
  password: string;
  /** The server's self-signed certificate (its own CA), and another one it is not signed by. */
  caFile: string;
  otherCaFile: string;
  write(name: string, content: string | Buffer, mtime?: Date): string;
  /**
   * Another explicit-TLS instance on the same folder with extra vsftpd.conf lines (e.g. a rate
   * limit), stopped with the others; its listener's pid, whose children are its sessions.
   */
  startInstance(extra: string[]): Promise<{ port: number; pid: number }>;
  stop(): Promise<void>;
}

/**
 * vsftpd with TLS required on control and data channels and require_ssl_reuse=YES, two
 * instances on one folder: explicit (AUTH TLS) and implicit TLS.
 */
export async function startVsftpd(): Promise<Vsftpd> {
  need("/usr/sbin/vsftpd", "vsftpd");
  // vsftpd's PAM service wants a password and a shell listed in /etc/shells.
  const { uid, gid } = ensureUser(FTP_USER, "/bin/sh");
  // vsftpd changes into the user's home before local_root: it must exist.
  const home = "/var/lib/leadpipe-ftp";
  mkdirSync(home, { recursive: true });
  chownSync(home, uid, gid);
  execFileSync("usermod", ["-d", home, FTP_USER]);
  const password = (await import("node:crypto")).randomBytes(18).toString("base64url");
  execFileSync("chpasswd", { input: `${FTP_USER}:${password}\n` });
  const root = mkdtempSync(path.join(os.tmpdir(), "leadpipe-vsftpd-"));
  chmodSync(root, 0o755);
  const dir = path.join(root, "data");
  const empty = path.join(root, "empty");
  mkdirSync(dir);
  mkdirSync(empty);
  chownSync(dir, uid, gid);
  const cert = (name: string) => {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        path.join(root, `${name}.key`),
        "-out",
        path.join(root, `${name}.pem`),
      ],
      { stdio: "ignore" },
    );
    return path.join(root, `${name}.pem`);
  };
  const caFile = cert("server");
  const otherCaFile = cert("other");
  const children: ChildProcess[] = [];
  const start = async (implicit: boolean, extra: string[] = []): Promise<{ port: number; pid: number }> => {
    const port = await freePort();
    const pasv = await freePort();
    const config = path.join(root, `vsftpd-${port}.conf`);
    writeFileSync(
      config,
      [
        "listen=YES",
        "listen_ipv6=NO",
        "listen_address=127.0.0.1",
        `listen_port=${port}`,
        "background=NO",
        "anonymous_enable=NO",
        "local_enable=YES",
        "write_enable=YES",
        `local_root=${dir}`,
        `userlist_enable=NO`,
        "ssl_enable=YES",
        "force_local_data_ssl=YES",
        "force_local_logins_ssl=YES",
        "require_ssl_reuse=YES",
        `implicit_ssl=${implicit ? "YES" : "NO"}`,
        `rsa_cert_file=${caFile}`,
        `rsa_private_key_file=${path.join(root, "server.key")}`,
        "pasv_enable=YES",
        "pasv_address=127.0.0.1",
        `pasv_min_port=${pasv}`,
        `pasv_max_port=${pasv}`,
        "seccomp_sandbox=NO",
        `secure_chroot_dir=${empty}`,
        "pam_service_name=vsftpd",
        "xferlog_enable=NO",
        ...extra,
        "",
      ].join("\n"),
    );
    let err = "";
    const child = spawn("/usr/sbin/vsftpd", [config], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    children.push(child);
    await waitForPort(port, child, "vsftpd", () => err);
    return { port, pid: child.pid! };
  };
  const explicitPort = (await start(false)).port;
  const implicitPort = (await start(true)).port;
  return {
    explicitPort,
    implicitPort,
    dir,
    password,
    caFile,
    otherCaFile,
    write: writerFor(dir, uid, gid),
    startInstance: (extra) => start(false, extra),
    async stop() {
      await Promise.all(children.map(stopChild));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
