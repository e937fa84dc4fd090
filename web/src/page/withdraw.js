/* The withdraw page (/withdraw): a receipt in, two steps, and the pledge is deleted for good.
 * No crypto library is needed here: only envelope/bytes.js's strict base64url checks the receipt. */
import { $, ID_RE, LANG, callApi, errorOf, hashParam, say, show, t } from './dom.js';

// A receipt, or a withdraw link (#r=…&c=…&k=…), or the part after its '#'.
function parseReceipt(text) {
  var receipt = text.trim();
  var c = null;
  var k = null;
  if (receipt.indexOf('#') >= 0) receipt = receipt.slice(receipt.indexOf('#') + 1);
  if (receipt.indexOf('r=') === 0) {
    var q = new URLSearchParams(receipt);
    receipt = q.get('r') || '';
    c = q.get('c');
    k = q.get('k');
  }
  var parts = receipt.split('.');
  if (parts.length !== 2 || !ID_RE.test(parts[0])) return null;
  try {
    var token = window.PledgeboxEnvelope.b64uDecode(parts[1]);
    if (token.length !== 32) return null;
  } catch (e) {
    return null;
  }
  return { pledgeId: parts[0], token: parts[1],
    campaignId: c && ID_RE.test(c) ? c : null, key: k && /^[A-Za-z0-9_-]{43}$/.test(k) ? k : null };
}

function withdrawn(r) {
  $('receipt-input').value = '';
  history.replaceState(null, '', location.pathname + location.search);
  show('withdraw-confirm', false);
  show('withdraw-done', true);
  if (r.campaignId) {
    var back = $('back-to-campaign');
    back.href = '/p/' + encodeURIComponent(r.campaignId) + '?lang=' + encodeURIComponent(LANG) +
      (r.key ? '#k=' + r.key : '');
    show('back-to-campaign', true);
  }
  say(t('deleted'));
  $('done-heading').focus();
}

function confirmWithdraw(r) {
  var button = $('confirm-delete');
  button.disabled = true;
  say(t('deleting'));
  var path = '/api/v1/pledges/' + encodeURIComponent(r.pledgeId) + '/withdraw';
  callApi('POST', path, { withdraw_token: r.token }).then(function (res) {
    if (res.status === 204) return withdrawn(r);
    say(res.status === 404 ? t('no_match') : errorOf(res, 'withdraw_error').message);
  }, function () {
    say(t('withdraw_unreachable'));
  }).then(function () { button.disabled = false; });
}

// Two steps: the receipt, then "delete it for good?"; nothing is sent before the second.
export function startWithdrawPage() {
  var input = $('receipt-input');
  var pending = null;
  // Opened from the receipt's link: the receipt is filled in, the campaign kept for the way back.
  var opened = location.hash.length > 1 ? location.hash : '';
  if (hashParam('r')) input.value = hashParam('r');
  $('withdraw-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var fromLink = opened && input.value.trim() === hashParam('r');
    pending = window.PledgeboxEnvelope && parseReceipt(fromLink ? opened : input.value);
    if (!pending) { say(t('not_receipt')); return; }
    say('');
    show('withdraw-form', false);
    show('withdraw-confirm', true);
    $('confirm-heading').focus();
  });
  $('confirm-delete').addEventListener('click', function () { if (pending) confirmWithdraw(pending); });
  $('cancel-delete').addEventListener('click', function () {
    show('withdraw-confirm', false);
    show('withdraw-form', true);
    say(t('kept'));
    input.focus();
  });
}
