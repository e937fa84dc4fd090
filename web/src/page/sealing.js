/* Sealing and sending a pledge: the answers are padded and sealed on this device to the key
 * the link vouched for (envelope.js), with a fresh withdraw token whose hash only is sent. */
import { ID_RE, callApi, errorOf, say, t, todayUTC } from './dom.js';
import { refuse } from './notices.js';
import { showReceipt } from './receipt.js';

export function sendPledge(state, answers) {
  var env = window.PledgeboxEnvelope;
  var token = window.PledgeboxLib.nacl.randomBytes(32);
  var path = '/api/v1/campaigns/' + encodeURIComponent(state.campaignId) + '/pledges';
  function bodyFor(key) {
    return { key_version: key.version,
      ciphertext: env.b64uEncode(env.sealPledge(answers, state.campaignId, key.publicKey)),
      withdraw_token_hash: env.b64uEncode(env.withdrawTokenHash(token)) };
  }
  return callApi('POST', path, bodyFor(state.key)).then(function (res) {
    if (res.status !== 409 || errorOf(res).code !== 'stale_key') return res;
    // The organizers rotated their key: check the new one is theirs, then re-seal once.
    var ek = env.verifyEncryptionKey(res.json.encryption_key, state.signingKey, state.coalitionId, todayUTC());
    if (!ek.ok || ek.key.version <= state.key.version) return { refusal: ek.reason || 'stale_key' };
    state.key = ek.key;
    return callApi('POST', path, bodyFor(state.key));
  }).then(function (res) {
    if (res.refusal) return refuse(res.refusal);
    if (res.status === 201 && res.json && ID_RE.test(res.json.pledge_id)) {
      return showReceipt(state, res.json.pledge_id, token);
    }
    say(res.status === 201 ? t('unreadable_receipt') : errorOf(res).message);
  });
}
