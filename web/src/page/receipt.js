/* After a pledge: the receipt (the only way to withdraw it), and passing the link on. */
import { $, LANG, copyText, hashParam, longDate, say, show, t } from './dom.js';
import { campaignLink } from './notices.js';

export function showReceipt(state, pledgeId, token) {
  var env = window.PledgeboxEnvelope;
  var receipt = pledgeId + '.' + env.b64uEncode(token);
  token.fill(0);
  $('pledge-form').reset();
  show('pledge-form', false);
  $('receipt-text').value = receipt;
  var link = $('receipt-link');
  // The campaign and its key ride in the fragment too, so the withdraw page can lead back.
  var back = new URLSearchParams({ r: receipt, c: state.campaignId });
  var k = hashParam('k');
  if (k) back.set('k', k);
  var path = '/withdraw?lang=' + encodeURIComponent(LANG) + '#' + back.toString();
  link.href = path;
  link.textContent = location.origin + path;
  show('receipt', true);
  say(t('sent'));
  $('receipt-heading').focus();
}

export function copyReceipt() {
  var box = $('receipt-text');
  copyText(box.value, 'copy-status', t('copied'), function () {
    box.focus();
    box.select();
    $('copy-status').textContent = t('copy_fallback');
  });
}

export function shareCampaign(state) {
  var d = state.text;
  var message = t('share_text', { title: d.title ? d.title.text : '',
    date: state.descriptor.action_date ? longDate(state.descriptor.action_date) : '' });
  var link = campaignLink();
  var copied = function () {
    copyText(message + ' ' + link, 'share-status', t('share_copied'), function () {
      $('share-status').textContent = t('link_copy_failed');
    });
  };
  if (navigator.share) {
    navigator.share({ title: d.title ? d.title.text : document.title, text: message, url: link })
      .then(function () { $('share-status').textContent = ''; }, function (e) {
        if (!e || e.name !== 'AbortError') copied();
      });
  } else {
    copied();
  }
}
