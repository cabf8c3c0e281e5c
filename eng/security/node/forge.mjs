// Forged and valid hub tokens for the authentication check (eng/security/checks/03_authentication.py), made with `jose`.
//
//   node forge.mjs < spec.json > tokens.json
//
// spec: {"jwks": <the hub's /.well-known/jwks.json>, "kid": <its active kid>, "sealed": <the signing_keys.private_key
//        of that kid as the hub stores it, base64>, "masterKey": <the hub's master key, base64 or hex>, "sub": "...",
//        "aud": "..."}
// The hub's private key is opened here (AES-256-GCM, the format of src/AgentHub/Vault/SecretBox.cs) and never leaves
// this process.
// out:  {"<name>": "<compact JWS>", ...}: "valid" (every claim right, signed with the hub's key) and one token per
//       defect, each wrong in exactly one way.
import { createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, UnsecuredJWT, importJWK, exportSPKI, base64url } from 'jose';

const spec = JSON.parse(readFileSync(0, 'utf8'));
const now = Math.floor(Date.now() / 1000);

function open(sealed, recordName, masterKeyText) {
  const text = masterKeyText.trim();
  const master = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  const box = Buffer.from(sealed, 'base64'); // version (1) | key term (4) | nonce (12) | tag (16) | ciphertext
  const decipher = createDecipheriv('aes-256-gcm', master, box.subarray(5, 17));
  decipher.setAAD(Buffer.from(recordName, 'utf8'));
  decipher.setAuthTag(box.subarray(17, 33));
  return Buffer.concat([decipher.update(box.subarray(33)), decipher.final()]);
}
const hubKey = createPrivateKey({ key: open(spec.sealed, `signing_keys/${spec.kid}`, spec.masterKey), format: 'der', type: 'pkcs8' });
const claims = (extra = {}) => ({ iss: spec.iss ?? 'agenthub', sub: spec.sub, aud: spec.aud, iat: now, exp: now + 60, jti: `forge-${Math.random()}`, ...extra });

async function es256(payload, key = hubKey, kid = spec.kid) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(key);
}

const tokens = {};
tokens.valid = await es256(claims());
tokens.alg_none = new UnsecuredJWT(claims()).encode().replace(/^[^.]+/,
  base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: spec.kid })));
tokens.expired = await es256(claims({ iat: now - 600, exp: now - 300 }));
tokens.nbf_future = await es256(claims({ nbf: now + 600 }));
tokens.wrong_iss = await es256(claims({ iss: 'https://attacker.example' }));
tokens.wrong_aud = await es256(claims({ aud: 'someone-else' }));
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
tokens.unknown_kid = await es256(claims(), stranger, 'forged-kid-0000');
tokens.foreign_key_real_kid = await es256(claims(), stranger, spec.kid);
// Algorithm confusion: HS256 keyed with the hub's public key as published (PEM of the JWKS key, and the JWK JSON).
const jwk = spec.jwks.keys.find((k) => k.kid === spec.kid);
const pem = await exportSPKI(await importJWK({ ...jwk, alg: 'ES256' }, 'ES256', { extractable: true }));
const hs = (secret) => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: spec.kid }).sign(secret);
tokens.hs256_public_pem = await hs(new TextEncoder().encode(pem));
tokens.hs256_public_jwk = await hs(new TextEncoder().encode(JSON.stringify(jwk)));
tokens.hs256_public_der = await hs(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
// Tampered: the valid token's header and signature around a payload naming someone else.
const [h, , s] = tokens.valid.split('.');
tokens.tampered_payload = [h, base64url.encode(JSON.stringify(claims({ sub: 'user:admin' }))), s].join('.');
tokens.no_signature = `${h}.${tokens.valid.split('.')[1]}.`;

process.stdout.write(JSON.stringify(tokens));
