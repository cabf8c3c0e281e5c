// Interop: Agent Card signatures (A2A v1.0 §8.4) between AgentHub and the official A2A JavaScript SDK (@a2a-js/sdk 1.3.0).
//
//   (a) the card the hub serves at /a2a/{id}/.well-known/agent-card.json, signed with the hub's key, verifies with the
//       SDK's verifyAgentCardSignature and nothing but the hub's published JWKS;
//   (b) cards signed by the SDK's generateAgentCardSignature (a P-256 key made with jose) register as `verified`
//       when their public key is given as cardKeys, and a changed one is refused.
//
// One hub for the whole file. No agent process is needed: the cards are registered inline and never called.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateAgentCardSignature, verifyAgentCardSignature } from '@a2a-js/sdk';
import * as jose from 'jose';
import { api, apiOk, recordSecret, startHub } from './lib/hub.js';

let hub;

// The SDK reports every signature that fails at debug level; the negative cases below make such failures on purpose.
console.debug = () => {};

before(async () => {
  hub = await startHub();
});

after(async () => {
  await hub?.stop();
});

/** A card that exercises the canonical form: defaults, empties, numbers in params, non-ASCII, a member outside the schema. */
function richCard(name = 'Weather') {
  return {
    name,
    description: 'Forecasts for a place — météo',
    version: '2.1.0',
    supportedInterfaces: [{ url: 'http://127.0.0.1:9/a2a', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    provider: { url: 'https://example.com', organization: 'Example' },
    documentationUrl: '',
    capabilities: {
      streaming: false,
      pushNotifications: true,
      extensions: [{ uri: 'urn:example:units', required: false, params: { ratio: 2.5, big: 1e21, tiny: 1e-7, max: 9007199254740991, none: null, empty: '', list: [] } }],
    },
    securitySchemes: {
      oauth: { oauth2SecurityScheme: { flows: { authorizationCode: { authorizationUrl: 'https://auth.example.com/a', tokenUrl: 'https://auth.example.com/t', scopes: { read: 'Read', 'wr€te': 'Write' }, pkceRequired: true } } } },
      key: { apiKeySecurityScheme: { location: 'header', name: 'X-Key' } },
    },
    securityRequirements: [{ schemes: { oauth: { list: ['read'] } } }, { schemes: { key: { list: [] } } }],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills: [
      { id: 'forecast', name: 'Forecast', description: 'Weather for a place', tags: ['weather', 'Ünïcode', '😀'], examples: ['', 'Paris?'], inputModes: [], outputModes: ['application/json'] },
      { id: 'alerts', name: 'Alerts', description: 'Storm alerts', tags: ['weather'] },
    ],
    'x-vendor-extension': { note: 'outside the schema', n: [1, 2.50] },
  };
}

async function register(id, card, extra = {}, expected = 201) {
  const body = await apiOk(hub.url, hub.adminKey, 'POST', '/api/v1/agents', { id, card, ...extra }, expected);
  recordSecret(body?.key?.key);
  return body;
}

async function fetchJson(path, key) {
  const res = await fetch(hub.url + path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
  return res.json();
}

async function sdkKey(kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  return { privateKey, jwk: { ...jwk, kid } };
}

const sdkSign = (privateKey, kid) => generateAgentCardSignature(privateKey, { alg: 'ES256', typ: 'JOSE', kid });

test('(a) the hub-signed served card verifies with the SDK and the hub JWKS only', async () => {
  await register('served', richCard());
  const card = await fetchJson('/a2a/served/.well-known/agent-card.json', hub.adminKey);
  const jwks = await fetchJson('/.well-known/jwks.json'); // anonymous, as any client gets it

  assert.equal(card.signatures.length, 1);
  const asked = [];
  await verifyAgentCardSignature(async (kid, jku) => {
    asked.push({ kid, jku });
    const jwk = jwks.keys.find((k) => k.kid === kid);
    assert.ok(jwk, `kid ${kid} is not in the hub JWKS`);
    return jwk;
  })(card);
  assert.deepEqual(asked.map((a) => a.jku), [`${hub.url}/.well-known/jwks.json`]);
  const header = jose.decodeProtectedHeader(card.signatures[0]);
  assert.deepEqual({ alg: header.alg, typ: header.typ }, { alg: 'ES256', typ: 'JOSE' });

  const byKid = async (kid) => jwks.keys.find((k) => k.kid === kid);
  for (const change of [(c) => { c.description = 'changed'; }, (c) => { c.supportedInterfaces[0].url = 'https://evil.example.com/a2a'; }, (c) => { c.skills.pop(); }]) {
    const tampered = structuredClone(card);
    change(tampered);
    await assert.rejects(verifyAgentCardSignature(byKid)(tampered), /No valid signatures/);
  }
});

test('(a) an agent-signed card is served with the hub signature in place of the agent one, which stays on the original', async () => {
  const { privateKey, jwk } = await sdkKey('agent-key');
  const signed = await sdkSign(privateKey, 'agent-key')(richCard('Signed'));
  await register('resigned', signed, { cardKeys: { keys: [jwk] } });

  const served = await fetchJson('/a2a/resigned/.well-known/agent-card.json', hub.adminKey);
  const jwks = await fetchJson('/.well-known/jwks.json');
  await verifyAgentCardSignature(async (kid) => jwks.keys.find((k) => k.kid === kid))(served);
  assert.notEqual(jose.decodeProtectedHeader(served.signatures[0]).kid, 'agent-key');

  const original = await fetchJson('/api/v1/agents/resigned/card', hub.adminKey);
  assert.deepEqual(original, JSON.parse(JSON.stringify(signed))); // as sent (the SDK's `header: undefined` does not survive JSON)
  await verifyAgentCardSignature(async () => jwk)(original);
});

test('(b) a card signed by the SDK registers as verified', async () => {
  const { privateKey, jwk } = await sdkKey('js-key-1');
  const signed = await sdkSign(privateKey, 'js-key-1')(richCard());

  const body = await register('sdk-signed', signed, { cardKeys: { keys: [jwk] } });

  assert.equal(body.agent.cardSignature, 'verified', body.agent.cardSignatureDetail);
  assert.match(body.agent.cardSignatureDetail, /verified with kid 'js-key-1'/);
  const versions = (await api(hub.url, hub.adminKey, 'GET', '/api/v1/agents/sdk-signed/versions')).body;
  assert.equal(versions[0].cardSignature, 'verified');
});

test('(b) SDK-signed cards across the schema all verify in the hub', async () => {
  const { privateKey, jwk } = await sdkKey('js-key-2');
  const variants = {
    minimal: { name: 'M', description: 'd', version: '1', supportedInterfaces: [{ url: 'http://127.0.0.1:9/a2a', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }], capabilities: {}, defaultInputModes: [], defaultOutputModes: [], skills: [] },
    snakeCase: (() => { // ProtoJSON parsers accept proto field names (the hub's own validation wants camelCase for what it reads)
      const c = richCard();
      delete c.documentationUrl;
      c.documentation_url = 'https://docs.example.com';
      c.icon_url = 'https://example.com/icon.png';
      c.capabilities = { push_notifications: false, extended_agent_card: true };
      c.skills[0].input_modes = ['text/plain'];
      c.security_requirements = c.securityRequirements;
      delete c.securityRequirements;
      return c;
    })(),
    flows: (() => {
      const c = richCard();
      c.securitySchemes = {
        cc: { oauth2SecurityScheme: { description: '', flows: { clientCredentials: { tokenUrl: 'https://t', scopes: {} } }, oauth2MetadataUrl: 'https://m' } },
        dc: { oauth2SecurityScheme: { flows: { deviceCode: { deviceAuthorizationUrl: 'https://d', tokenUrl: 'https://t', refreshUrl: '' } } } },
        oidc: { openIdConnectSecurityScheme: { openIdConnectUrl: 'https://o/.well-known/openid-configuration' } },
        mtls: { mtlsSecurityScheme: { description: 'client certificates' } },
        http: { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT' } },
      };
      return c;
    })(),
    numbers: (() => {
      const c = richCard();
      c.capabilities.extensions = [{ uri: 'urn:n', required: true, params: { a: [0, -0, 1.5, 1e-6, 1e-7, 123456789012345680000, 0.1, 1 / 3, -5e-324, 1.7976931348623157e308], nested: { z: true, a: false, m: 'x' } } }];
      return c;
    })(),
    unicodeKeys: (() => {
      const c = richCard();
      c.securitySchemes = { '€': { apiKeySecurityScheme: { name: 'k', location: 'query' } }, '\r': { mtlsSecurityScheme: { description: 'cr' } }, '😀': { mtlsSecurityScheme: { description: 'emoji' } }, 'דּ': { mtlsSecurityScheme: { description: 'dalet' } } };
      c.description = 'line\nbreak\t"quoted" \\ \u0001 \u2028';
      return c;
    })(),
  };

  for (const [name, card] of Object.entries(variants)) {
    const signed = await sdkSign(privateKey, 'js-key-2')(card);
    const body = await register(`sdk-${name.toLowerCase()}`, signed, { cardKeys: { keys: [jwk] } });
    assert.equal(body.agent.cardSignature, 'verified', `${name}: ${body.agent.cardSignatureDetail}`);
  }
});

test('(b) a changed SDK-signed card is refused, and recorded invalid when allowed', async () => {
  const { privateKey, jwk } = await sdkKey('js-key-3');
  const signed = await sdkSign(privateKey, 'js-key-3')(richCard());
  const tampered = { ...signed, version: '9.9.9' };

  const refused = await api(hub.url, hub.adminKey, 'POST', '/api/v1/agents', { id: 'sdk-tampered', card: tampered, cardKeys: { keys: [jwk] } });
  assert.equal(refused.status, 400);
  assert.match(refused.body.errors['card.signatures'][0], /does not verify with kid 'js-key-3'/);

  const noKeys = await api(hub.url, hub.adminKey, 'POST', '/api/v1/agents', { id: 'sdk-nokeys', card: signed });
  assert.equal(noKeys.status, 400);
  assert.match(noKeys.body.errors['card.signatures'][0], /no cardKeys were given/);

  const allowed = await register('sdk-tampered', tampered, { cardKeys: { keys: [jwk] }, allowInvalidSignature: true });
  assert.equal(allowed.agent.cardSignature, 'invalid');
});
