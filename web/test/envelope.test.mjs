// Edge cases of envelope.js: padding, base64url strictness, and every refusal a page must make.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPledgebox } from '../load-scripts.mjs';

const { lib, env } = loadPledgebox();
const { nacl } = lib;
const utf8 = new TextEncoder();

test('pad adds 1..1024 bytes: 0x80 then zeros, up to the next multiple of 1024', () => {
  for (const [len, padded] of [[0, 1024], [1, 1024], [1023, 1024], [1024, 2048], [1025, 2048], [8191, 8192]]) {
    const input = new Uint8Array(len).fill(0x80); // content that looks like padding must survive
    const out = env.pad(input);
    assert.equal(out.length, padded, `length ${len}`);
    assert.equal(out[len], 0x80);
    assert.ok(out.subarray(len + 1).every((b) => b === 0));
    assert.deepEqual(env.unpad(out), input);
  }
});

test('pad refuses a pledge that would pad past 8192 bytes', () => {
  assert.throws(() => env.pad(new Uint8Array(8192)), /too large/);
  assert.throws(() => env.sealPledge({ note: 'x'.repeat(8200) }, 'c', new Uint8Array(32)), /too large/);
});

test('unpad refuses what sodium_unpad refuses, and lengths that are not whole blocks', () => {
  const bad = [
    new Uint8Array(0),
    new Uint8Array(1024), // all zeros: no marker
    new Uint8Array(1023).fill(0x80), // not a whole block
    (() => { const p = env.pad(new Uint8Array(5)); p[1023] = 1; return p; })(), // junk after marker
    (() => { const p = new Uint8Array(2048); p[100] = 0x80; return p; })(), // marker beyond last block
  ];
  for (const p of bad) assert.throws(() => env.unpad(p), /bad padding/);
});

test('base64url: round trip, and only the canonical unpadded spelling decodes', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = nacl.randomBytes(n);
    const text = env.b64uEncode(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(env.b64uDecode(text), bytes);
  }
  assert.deepEqual(env.b64uDecode('-_8'), new Uint8Array([0xfb, 0xff]));
  for (const text of ['AQ==', 'A', '+_8', '/w', 'AB', 'AR', 'a b', 'ab\n', null, 7]) {
    assert.throws(() => env.b64uDecode(text), /bad base64url/, String(text));
  }
});

test('base64url: exactly the texts that encode back to themselves decode (every text up to 3 characters)', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const texts = [''];
  for (const a of alphabet) {
    texts.push(a);
    for (const b of alphabet) {
      texts.push(a + b);
      for (const c of alphabet) texts.push(a + b + c);
    }
  }
  for (let n = 0; n < 2000; n++) { // longer ones with a random last character
    texts.push(Buffer.from(nacl.randomBytes(n % 50)).toString('base64url').slice(0, -1) + alphabet[n % 64]);
  }
  for (const text of texts) {
    const canonical = text.length % 4 !== 1 && Buffer.from(text, 'base64url').toString('base64url') === text;
    let decoded = null;
    try { decoded = env.b64uDecode(text); } catch (e) { assert.match(e.message, /bad base64url/); }
    assert.equal(decoded !== null, canonical, JSON.stringify(text));
    if (decoded) assert.deepEqual(Buffer.from(decoded), Buffer.from(text, 'base64url'));
  }
  const big = nacl.randomBytes(100000); // encoded in slices
  assert.equal(env.b64uEncode(big), Buffer.from(big).toString('base64url'));
});

test('sealTo output is 48 bytes longer, opens, and differs every time', () => {
  const kp = nacl.box.keyPair();
  const m = utf8.encode('hello');
  const a = env.sealTo(kp.publicKey, m);
  const b = env.sealTo(kp.publicKey, m);
  assert.equal(a.length, 53);
  assert.notDeepEqual(a, b);
  assert.deepEqual(env.sealOpen(kp.publicKey, kp.secretKey, a), m);
  assert.throws(() => env.sealOpen(nacl.box.keyPair().publicKey, kp.secretKey, a), /does not open/);
  assert.throws(() => env.sealTo(new Uint8Array(31), m), /bad public key/);
});

test('sealPledge gives 1024*k + 48 bytes holding the protocol plaintext', () => {
  const kp = nacl.box.keyPair();
  const ct = env.sealPledge({ walk: 'yes', ok: true }, 'cmp_1', kp.publicKey);
  assert.equal(ct.length, 1024 + 48);
  const plain = new TextDecoder().decode(env.unpad(env.sealOpen(kp.publicKey, kp.secretKey, ct)));
  const parsed = JSON.parse(plain);
  assert.match(parsed.nonce, /^[A-Za-z0-9_-]{22}$/); // protocol 1.1: 16 random bytes, b64u
  assert.equal(env.b64uDecode(parsed.nonce).length, 16);
  assert.deepEqual(parsed, { v: 1, campaign_id: 'cmp_1', answers: { walk: 'yes', ok: true }, nonce: parsed.nonce });
  const again = JSON.parse(new TextDecoder().decode(env.unpad(env.sealOpen(kp.publicKey, kp.secretKey,
    env.sealPledge({ walk: 'yes', ok: true }, 'cmp_1', kp.publicKey)))));
  assert.notEqual(again.nonce, parsed.nonce);
});

test('statements refuse malformed parts instead of signing over them', () => {
  const pk = new Uint8Array(32);
  assert.throws(() => env.encryptionKeyMessage('c', 0, '2030-01-01', pk));
  assert.throws(() => env.encryptionKeyMessage('c', 1.5, '2030-01-01', pk));
  assert.throws(() => env.encryptionKeyMessage('c', 1, '2030-1-1', pk));
  assert.throws(() => env.encryptionKeyMessage('c', 1, '2030-01-01', new Uint8Array(33)));
});

// A coalition as an organizer's tool would set it up, and the server's answer for one campaign.
function makeCoalition({ notAfter = '2030-06-30', campaignId = 'cmp_A', coalitionId = 'coa_B' } = {}) {
  const signing = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
  const enc = nacl.box.keyPair();
  const descriptor = utf8.encode(JSON.stringify({
    campaign_id: campaignId, coalition_id: coalitionId, title: 'T', description: 'D',
    action_date: '2030-05-01', closes_at: '2030-04-30', delete_after: '2030-06-01', languages: ['en'],
    fields: [{ id: 'name', type: 'text', label: { en: 'Name', es: 'Nombre' }, required: true, max_length: 40 }],
  }));
  const sign = (m) => env.b64uEncode(nacl.sign.detached(m, signing.secretKey));
  const keyFor = (version, pk, na) => ({
    version, not_after: na, public_key: env.b64uEncode(pk),
    signature: sign(env.encryptionKeyMessage(coalitionId, version, na, pk)),
  });
  const response = {
    campaign_id: campaignId, coalition_id: coalitionId, coalition_name: 'N',
    signing_key: env.b64uEncode(signing.publicKey),
    descriptor: env.b64uEncode(descriptor),
    descriptor_signature: sign(env.campaignMessage(descriptor)),
    encryption_key: keyFor(1, enc.publicKey, notAfter),
  };
  return { signing, enc, response, keyFor, sign, fragment: env.b64uEncode(signing.publicKey) };
}

const TODAY = '2030-04-01';

test('a correct response verifies, with or without a fragment key', () => {
  const c = makeCoalition();
  const withKey = env.verifyCampaignResponse(c.response, c.fragment, 'cmp_A', TODAY);
  assert.equal(withKey.ok, true, withKey.reason);
  assert.equal(withKey.keyCheckedAgainstLink, true);
  assert.deepEqual(withKey.encryptionKey.publicKey, c.enc.publicKey);
  const without = env.verifyCampaignResponse(c.response, null, 'cmp_A', TODAY);
  assert.equal(without.ok, true);
  assert.equal(without.keyCheckedAgainstLink, false);
});

test('verifyCampaignResponse refuses each way a server could lie', () => {
  const c = makeCoalition();
  const other = nacl.sign.keyPair();
  const cases = {
    fragment_key_mismatch: [c.response, env.b64uEncode(other.publicKey)],
    bad_descriptor_signature: [{ ...c.response, descriptor_signature: env.b64uEncode(new Uint8Array(64)) }],
    bad_key_signature: [{ ...c.response, encryption_key: { ...c.response.encryption_key, version: 2 } }],
    campaign_mismatch: [c.response, c.fragment, 'cmp_Other'],
    key_expired: [makeCoalition({ notAfter: '2030-03-30' }).response],
    malformed: [{ ...c.response, signing_key: 'not base64url!' }],
  };
  for (const [reason, [json, fragment = c.fragment, asked = 'cmp_A']] of Object.entries(cases)) {
    assert.deepEqual(env.verifyCampaignResponse(json, fragment, asked, TODAY), { ok: false, reason }, reason);
  }
  // A server swapping in its own signing key passes its own signatures but not the link's key.
  const forged = makeCoalition();
  const server = nacl.sign.keyPair();
  const descriptor = env.b64uDecode(forged.response.descriptor);
  const resigned = {
    ...forged.response,
    signing_key: env.b64uEncode(server.publicKey),
    descriptor_signature: env.b64uEncode(nacl.sign.detached(env.campaignMessage(descriptor), server.secretKey)),
  };
  assert.equal(env.verifyCampaignResponse(resigned, forged.fragment, 'cmp_A', TODAY).reason, 'fragment_key_mismatch');
});

test('a descriptor for another campaign or coalition is refused even when properly signed', () => {
  const c = makeCoalition({ campaignId: 'cmp_Z' });
  const moved = { ...c.response, campaign_id: 'cmp_A' }; // server relabels another campaign
  assert.equal(env.verifyCampaignResponse(moved, c.fragment, 'cmp_A', TODAY).reason, 'campaign_mismatch');
  const d = makeCoalition({ coalitionId: 'coa_Other' });
  const relabelled = { ...d.response, coalition_id: 'coa_B' };
  assert.equal(env.verifyCampaignResponse(relabelled, d.fragment, 'cmp_A', TODAY).reason, 'coalition_mismatch');
});

test('not_after: refused only when more than one day before today (UTC)', () => {
  const c = makeCoalition({ notAfter: '2030-03-31' });
  assert.equal(env.verifyCampaignResponse(c.response, c.fragment, 'cmp_A', '2030-04-01').ok, true);
  assert.equal(env.verifyCampaignResponse(c.response, c.fragment, 'cmp_A', '2030-04-02').reason, 'key_expired');
  // Across a month and a year boundary.
  const y = makeCoalition({ notAfter: '2030-12-31' });
  assert.equal(env.verifyCampaignResponse(y.response, y.fragment, 'cmp_A', '2031-01-01').ok, true);
  assert.equal(env.verifyCampaignResponse(y.response, y.fragment, 'cmp_A', '2031-01-02').reason, 'key_expired');
});

test('verifyEncryptionKey checks a stale_key answer against the signing key', () => {
  const c = makeCoalition();
  const fresh = nacl.box.keyPair();
  const good = c.keyFor(2, fresh.publicKey, '2030-07-30');
  const ok = env.verifyEncryptionKey(good, c.signing.publicKey, 'coa_B', TODAY);
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.key.publicKey, fresh.publicKey);
  const swapped = { ...good, public_key: env.b64uEncode(nacl.box.keyPair().publicKey) };
  assert.equal(env.verifyEncryptionKey(swapped, c.signing.publicKey, 'coa_B', TODAY).reason, 'bad_key_signature');
  assert.equal(env.verifyEncryptionKey(good, c.signing.publicKey, 'coa_X', TODAY).reason, 'bad_key_signature');
  assert.equal(env.verifyEncryptionKey(null, c.signing.publicKey, 'coa_B', TODAY).reason, 'malformed');
});

test('without the crypto library, envelope.js throws instead of sending anything', () => {
  const saved = globalThis.PledgeboxLib;
  globalThis.PledgeboxLib = undefined;
  try {
    assert.throws(() => env.sealPledge({}, 'c', new Uint8Array(32)), /crypto library missing/);
    const c = { signing_key: 'AA', descriptor: 'AA', descriptor_signature: 'AA', encryption_key: {} };
    assert.equal(env.verifyCampaignResponse(c, null, 'c', TODAY).ok, false);
  } finally {
    globalThis.PledgeboxLib = saved;
  }
});

// Protocol 1.1 tallies: shown only when the link's key signed them, for this campaign.
function signedTally(signing, t) {
  const body = new TextEncoder().encode(JSON.stringify(t));
  const signature = nacl.sign.detached(env.tallyMessage(body), signing.secretKey);
  return { body: env.b64uEncode(body), signature: env.b64uEncode(signature) };
}

test('verifyTally accepts a signed tally for this campaign and refuses everything else', () => {
  const signing = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
  const t = { campaign_id: 'cmp_A', coalition_id: 'coa_B', day: '2030-04-01', total: 12,
    counts: { north: 12, south: 0 }, few: ['east'], reached: ['north'] };
  const good = signedTally(signing, t);
  const ok = env.verifyTally(good, signing.publicKey, 'cmp_A', 'coa_B');
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.tally, t);
  // body changed, signature kept
  const forged = { ...good, body: env.b64uEncode(new TextEncoder().encode(JSON.stringify({ ...t, total: 99 }))) };
  assert.equal(env.verifyTally(forged, signing.publicKey, 'cmp_A', 'coa_B').reason, 'bad_signature');
  const other = nacl.sign.keyPair();
  assert.equal(env.verifyTally(good, other.publicKey, 'cmp_A', 'coa_B').reason, 'bad_signature');
  assert.equal(env.verifyTally(good, signing.publicKey, 'cmp_X', 'coa_B').reason, 'campaign_mismatch');
  assert.equal(env.verifyTally(good, signing.publicKey, 'cmp_A', 'coa_X').reason, 'campaign_mismatch');
  // the announcement prefix does not make a tally
  const wrongPurpose = { ...good, signature: env.b64uEncode(nacl.sign.detached(
    env.announcementMessage(env.b64uDecode(good.body)), signing.secretKey)) };
  assert.equal(env.verifyTally(wrongPurpose, signing.publicKey, 'cmp_A', 'coa_B').reason, 'bad_signature');
  const badShape = signedTally(signing, { ...t, total: -1 });
  assert.equal(env.verifyTally(badShape, signing.publicKey, 'cmp_A', 'coa_B').reason, 'malformed');
  assert.equal(env.verifyTally(null, signing.publicKey, 'cmp_A', 'coa_B').reason, 'malformed');
});

test("descriptorText: the student's language where given, the signed name only", () => {
  const d = { title: 'Walkout', description: 'Go', coalition_name: 'Covina', languages: ['en', 'es'],
    i18n: { es: { title: 'Salida' } } };
  const es = env.descriptorText(d, 'es');
  assert.deepEqual(es.title, { text: 'Salida', lang: 'es' });
  assert.deepEqual(es.description, { text: 'Go', lang: 'en' });
  assert.deepEqual(es.coalitionName, { text: 'Covina', lang: 'en' });
  assert.deepEqual(env.descriptorText(d, 'en').title, { text: 'Walkout', lang: 'en' });
  assert.equal(env.descriptorText({ title: 'v1', fields: [] }, 'en').coalitionName, null);
});

test("the browser's native Ed25519 only speeds up what tweetnacl would accept anyway", async () => {
  const c = makeCoalition();
  await env.preverifyCampaign(c.response);
  assert.equal(env.verifyCampaignResponse(c.response, c.fragment, 'cmp_A', TODAY).ok, true);
  // A signature natively found valid does not make another message valid.
  const other = makeCoalition({ campaignId: 'cmp_Z' });
  const swapped = { ...c.response, descriptor: other.response.descriptor };
  await env.preverifyCampaign(swapped);
  assert.equal(env.verifyCampaignResponse(swapped, c.fragment, 'cmp_A', TODAY).reason, 'bad_descriptor_signature');
  // Nor the same message under another key: the same signature text, a key that did not make it.
  const stranger = env.b64uEncode(nacl.sign.keyPair().publicKey);
  const rekeyed = { ...c.response, signing_key: stranger };
  assert.equal(env.verifyCampaignResponse(rekeyed, stranger, 'cmp_A', TODAY).reason, 'bad_descriptor_signature');
  await env.preverifyCampaign(null); // malformed answers resolve, and are refused later as before
});
