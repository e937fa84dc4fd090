/* After a pledge: the receipt (the only way to withdraw it), and passing the link on. */
import { $, LANG, copyText, el, hashParam, longDate, say, show, t, todayUTC } from './dom.js';
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
  show('calendar', !!state.descriptor.action_date);
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

/* ---------- the action day in the student's own calendar (issue 18.20) ---------- */

// RFC 5545 text: backslash, semicolon, comma and line breaks escaped.
function icsText(words) {
  return words.replace(/[\\;,]/g, '\\$&').replace(/\r?\n/g, '\\n');
}

// An all-day event on the action day with the student's own words, made on this phone and
// saved as a file: nothing is sent, nothing is kept. No link and no campaign name go in unless
// the student typed them, so a shared phone's calendar says only what they chose.
export function icsFor(day, words, uid, stamp) {
  var start = day.replace(/-/g, '');
  var end = new Date(Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10) + 1))
    .toISOString().slice(0, 10).replace(/-/g, '');
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Pledgebox//EN', 'BEGIN:VEVENT',
    'UID:' + uid + '@pledgebox', 'DTSTAMP:' + stamp.replace(/-/g, '') + 'T000000Z',
    'DTSTART;VALUE=DATE:' + start, 'DTEND;VALUE=DATE:' + end,
    'SUMMARY:' + icsText(words), 'TRANSP:TRANSPARENT', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

export function saveCalendar(state) {
  var words = $('calendar-words').value.trim() || $('calendar-words').defaultValue;
  var uid = window.PledgeboxEnvelope.b64uEncode(crypto.getRandomValues(new Uint8Array(12)));
  var file = new Blob([icsFor(state.descriptor.action_date, words, uid, todayUTC())],
    { type: 'text/calendar' });
  var a = el('a', { href: URL.createObjectURL(file), download: 'calendar.ics' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  $('calendar-status').textContent = t('calendar_saved');
}
