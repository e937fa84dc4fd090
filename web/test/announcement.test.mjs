// verifyAnnouncement: only news signed by the link's key, for this campaign, in the expected shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPledgebox } from '../load-scripts.mjs';

const { lib, env } = loadPledgebox();
const { nacl } = lib;
const utf8 = new TextEncoder();
const coalition = nacl.sign.keyPair();
const campaignId = 'camp_1';

function item(body, secretKey = coalition.secretKey) {
  const bytes = utf8.encode(typeof body === 'string' ? body : JSON.stringify(body));
  const signature = nacl.sign.detached(env.announcementMessage(bytes), secretKey);
  return { body: env.b64uEncode(bytes), signature: env.b64uEncode(signature) };
}

const good = { campaign_id: campaignId, id: 'a1', day: '2027-02-20',
  message: { en: 'Meet at 10', es: 'Nos vemos a las 10' } };

test('the signed message is the announcement prefix, a NUL, then the body bytes', () => {
  const msg = env.announcementMessage(utf8.encode('{}'));
  assert.equal(new TextDecoder().decode(msg), 'pledgebox/v1/announcement\0{}');
});

test('an announcement signed by the coalition for this campaign verifies', () => {
  const v = env.verifyAnnouncement(item(good), coalition.publicKey, campaignId);
  assert.equal(v.ok, true);
  assert.deepEqual(v.announcement, good);
});

test('a signature by any other key, or over other bytes, is refused', () => {
  const other = nacl.sign.keyPair();
  assert.equal(env.verifyAnnouncement(item(good, other.secretKey), coalition.publicKey, campaignId).reason,
    'bad_signature');
  const edited = item(good);
  edited.body = env.b64uEncode(utf8.encode(JSON.stringify({ ...good, message: { en: 'Cancelled' } })));
  assert.equal(env.verifyAnnouncement(edited, coalition.publicKey, campaignId).reason, 'bad_signature');
});

test('a genuine announcement of another campaign is refused here', () => {
  const v = env.verifyAnnouncement(item({ ...good, campaign_id: 'other' }), coalition.publicKey, campaignId);
  assert.equal(v.reason, 'campaign_mismatch');
});

test('malformed items and bodies are refused, never thrown', () => {
  for (const bad of [null, {}, { body: '!!', signature: 'x' }, item('not json'),
    item({ ...good, day: '2027-02-30' }), item({ ...good, message: 'plain' }),
    item({ ...good, message: { es: 'solo' } }), item({ ...good, message: { en: 'x', es: 3 } }),
    item({ ...good, id: 7 })]) {
    const v = env.verifyAnnouncement(bad, coalition.publicKey, campaignId);
    assert.equal(v.ok, false);
  }
});
