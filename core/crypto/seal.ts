/**
 * Sealing provider credentials for Redis: AES-256-GCM under a per-namespace data key.
 *
 * The IV is synthetic: HMAC-SHA256(key, plaintext) truncated to 96 bits. The same secret under the same key
 * always seals to the same bytes, so a recompile yields the same tableVersion and an operator restart
 * publishes nothing new; different plaintexts get different IVs, which is what GCM requires. An attacker
 * who reads Redis learns only whether two sealed values are equal, never the key.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import type { SealedCredential } from '../api/types.js';

export const DATA_KEY_BYTES = 32;

/** A short public identifier of a data key, so a sidecar can tell a credential sealed under another key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function checkKey(key: Buffer): void {
  if (key.length !== DATA_KEY_BYTES) throw new Error(`data key must be ${DATA_KEY_BYTES} bytes, got ${key.length}`);
}

export function sealCredential(plaintext: string, key: Buffer): SealedCredential {
  checkKey(key);
  const iv = createHmac('sha256', key).update(plaintext).digest().subarray(0, 12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: 'A256GCM',
    keyId: keyIdOf(key),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** Opens a sealed credential; throws with code `ERR_SEAL_KEY` or `ERR_SEAL_AUTH` when it cannot. */
export function openCredential(sealed: SealedCredential, key: Buffer): string {
  checkKey(key);
  if (sealed.keyId !== keyIdOf(key)) {
    throw Object.assign(new Error(`credential sealed under key ${sealed.keyId}, this sidecar holds ${keyIdOf(key)}`), {
      code: 'ERR_SEAL_KEY',
    });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw Object.assign(new Error('credential failed authentication (corrupt or wrong key)'), {
      code: 'ERR_SEAL_AUTH',
    });
  }
}
