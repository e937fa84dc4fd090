/* Sealing and sending a pledge: the answers are padded and sealed on this device to the key
 * the link vouched for (envelope/sealed-pledge.js), with a fresh withdraw token whose hash only is sent. */
import { $, ID_RE, NETWORK_FAILED, callApi, errorOf, say, t, todayUTC } from './dom.js';
import { refuse } from './notices.js';
import { showReceipt } from './receipt.js';

// The audited crypto libraries (tweetnacl, BLAKE2b: 10.9 KB of the 19 KB script through gzip)
// are needed only to seal, or to check signatures where the browser has no Ed25519 of its own.
// So the first visit carries the page without them, and they come from their own
// content-addressed file, pinned by the SRI hash the page carries (an altered file does not run),
// when the student first touches the form, or at once on a phone that needs them to verify.
var sealing = null;
export function loadSealing() {
  if (window.PledgeboxLib) return Promise.resolve();
  if (!sealing) {
    sealing = new Promise(function (resolve, reject) {
      var root = $('pledge-app');
      var script = document.createElement('script');
      script.src = root.getAttribute('data-sealing');
      script.integrity = root.getAttribute('data-sealing-sri');
      script.onload = function () { if (window.PledgeboxLib) resolve(); else reject(new Error('library')); };
      script.onerror = function () { sealing = null; script.remove(); reject(NETWORK_FAILED); };
      document.head.appendChild(script);
    });
  }
  return sealing;
}

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
