import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { ensurePrivateDir, writeSecretFile } from "../util/secure-fs.js";

/** Where the local CA lives: `.akspilot/ca/` (the key 0600, the directory 0700). */
export function caDir(root: string): string {
  return join(root, ".akspilot", "ca");
}

export interface LocalCa {
  certPath: string;
  keyPath: string;
  certPem: string;
}

/**
 * Names every local HTTPS endpoint answers to: loopback, and the Azure host names the local proxy
 * terminates (one certificate, wildcards per service).
 */
export const SERVER_NAMES = [
  "localhost",
  "127.0.0.1",
  "login.microsoftonline.com",
  "*.queue.core.windows.net",
  "*.table.core.windows.net",
  "*.blob.core.windows.net",
  "*.vault.azure.net",
  "oidc.local",
];

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT")
      throw new UserError("openssl is not installed; akspilot needs it to make the local CA for its HTTPS endpoints", "install openssl (e.g. `apt-get install openssl`)");
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim().split("\n")[0] ?? err.message}`);
  }
}

function privateKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * The local certificate authority, made on first use: an EC P-256 key (0600, never printed) and a
 * self-signed CA certificate valid ten years, which pods and other tools trust to reach akspilot's
 * HTTPS endpoints as they would reach Azure's.
 */
export function ensureLocalCa(root: string): LocalCa {
  const dir = ensurePrivateDir(caDir(root));
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    writeSecretFile(keyPath, privateKeyPem());
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      keyPath,
      "-out",
      certPath,
      "-days",
      "3650",
      "-sha256",
      "-subj",
      "/O=akspilot/CN=akspilot local CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }
  const mode = statSync(keyPath).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new UserError(`the local CA key ${keyPath} is readable by other users (mode ${mode.toString(8)})`, `run \`chmod 600 ${keyPath}\` or delete ${dir} to make a new CA`);
  return { certPath, keyPath, certPem: readFileSync(certPath, "utf8") };
}

export interface ServerCert {
  cert: string;
  key: string;
  /** The CA certificate, for a chain. */
  ca: string;
}

/**
 * A server certificate for SERVER_NAMES signed by the local CA, reused while valid for more than a week
 * and for the same names; its key is 0600 next to the CA's.
 */
export function serverCertificate(root: string, names: string[] = SERVER_NAMES): ServerCert {
  const ca = ensureLocalCa(root);
  const dir = caDir(root);
  const tag = createHash("sha256").update(ca.certPem).update(names.join(",")).digest("hex").slice(0, 12);
  const certPath = join(dir, `server-${tag}.crt`);
  const keyPath = join(dir, `server-${tag}.key`);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, "utf8");
    if (new Date(new X509Certificate(cert).validTo).getTime() - Date.now() > 7 * 86_400_000) {
      return { cert, key: readFileSync(keyPath, "utf8"), ca: ca.certPem };
    }
  }
  writeSecretFile(keyPath, privateKeyPem());
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  const ext = join(dir, `server-${tag}.ext`);
  writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${san}`,
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"),
  );
  const csr = join(dir, `server-${tag}.csr`);
  openssl(["req", "-new", "-key", keyPath, "-out", csr, "-subj", "/O=akspilot/CN=akspilot local services"]);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.certPath, "-CAkey", ca.keyPath, "-CAcreateserial", "-out", certPath, "-days", "397", "-sha256", "-extfile", ext]);
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), ca: ca.certPem };
}
