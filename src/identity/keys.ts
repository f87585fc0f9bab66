import { existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from "jose";
import { UserError } from "../errors.js";
import { checkPrivateDir, writeSecretFile } from "../util/secure-fs.js";

interface StoredKey {
  kid: string;
  createdAt: string;
  /** RSA private key as a JWK (the file is 0600; never printed). */
  privateJwk: JWK;
}

interface KeyFile {
  format: "akspilot.signing-keys/v1";
  keys: StoredKey[];
}

export interface SigningKey {
  kid: string;
  createdAt: number;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * A set of RS256 signing keys kept in one 0600 file: the newest signs, the previous ones stay published
 * (in a JWKS) so that tokens signed before a rotation still verify until they expire.
 */
export class KeyRing {
  private constructor(
    private readonly path: string,
    private keys: SigningKey[],
  ) {}

  static async open(path: string): Promise<KeyRing> {
    if (!existsSync(path)) {
      const ring = new KeyRing(path, []);
      await ring.rotate();
      return ring;
    }
    checkPrivateDir(dirname(path));
    let data: KeyFile;
    try {
      data = JSON.parse(readFileSync(path, "utf8")) as KeyFile;
    } catch {
      // The parse error could quote key material.
      throw new UserError(`signing key file ${path} is not valid JSON`, `delete it; akspilot makes a new key (tokens signed with the old one stop verifying)`);
    }
    if (data.format !== "akspilot.signing-keys/v1" || !Array.isArray(data.keys) || data.keys.length === 0) {
      throw new UserError(`${path} is not an akspilot signing key file`, "delete it; akspilot makes a new key");
    }
    const keys = await Promise.all(data.keys.map((k) => load(k)));
    return new KeyRing(path, keys);
  }

  /** The key that signs now. */
  get current(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** Whether the key `kid` is still published (rotations drop the oldest). */
  publishes(kid: string): boolean {
    return this.keys.some((k) => k.kid === kid);
  }

  /** Public keys, newest last, as a JWKS document. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** Adds a new signing key; keeps the last `keep` keys published. */
  async rotate(keep = 2): Promise<SigningKey> {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
    const stored: StoredKey = { kid: randomUUID(), createdAt: new Date().toISOString(), privateJwk: await exportJWK(privateKey) };
    const key = await load(stored);
    this.keys = [...this.keys, key].slice(-keep);
    await this.save();
    return key;
  }

  private async save(): Promise<void> {
    const stored: StoredKey[] = await Promise.all(
      this.keys.map(async (k) => ({ kid: k.kid, createdAt: new Date(k.createdAt).toISOString(), privateJwk: await exportJWK(k.privateKey) })),
    );
    const file: KeyFile = { format: "akspilot.signing-keys/v1", keys: stored };
    writeSecretFile(this.path, JSON.stringify(file) + "\n");
  }
}

async function load(k: StoredKey): Promise<SigningKey> {
  const privateKey = (await importJWK({ ...k.privateJwk, alg: "RS256" }, "RS256", { extractable: true })) as CryptoKey;
  const { n, e, kty } = k.privateJwk;
  return { kid: k.kid, createdAt: Date.parse(k.createdAt), privateKey, publicJwk: { kty, n, e, kid: k.kid, alg: "RS256", use: "sig" } };
}
