/* What the pledge page tells a student besides the form: a refusal (nothing will be sent), the
 * in-app browser warning, and the organizers' signed announcements. */
import { $, LANG, callApi, copyText, el, isOverIn, labelOf, longDate, reveal, say, show, t } from './dom.js';

// refused: the page will never send; sending: a pledge is on its way (one at a time).
export var pledge = { refused: false, sending: false };

export function refuse(reason) {
  pledge.refused = true;
  ['campaign', 'unverified-warning', 'pledge-form', 'announcements', 'tally', 'tally-unavailable'].forEach(function (id) {
    if ($(id)) $(id).hidden = true;
  });
  var box = $('verify-failed');
  var known = ['key_expired', 'key_cut', 'unknown_campaign', 'unreachable'];
  box.textContent = t(known.indexOf(reason) >= 0 ? 'refused.' + reason : 'refused.other');
  box.hidden = false;
  document.title = 'Pledgebox'; // not the server's unchecked title
  say('');
  reveal('refused');
}

/* ---------- in-app browsers: the app that opened the link can read the page ---------- */

var IN_APP = [['Instagram', /Instagram/], ['TikTok', /musical_ly|TikTok|BytedanceWebview/],
  ['Snapchat', /Snapchat/], ['Facebook', /FBAN|FBAV|FB_IAB|FBIOS|FB4A/]];

function inAppBrowser(ua) {
  for (var i = 0; i < IN_APP.length; i++) if (IN_APP[i][1].test(ua)) return IN_APP[i][0];
  return null;
}

// The link to pass on: this page with its #k= key, without a ?lang= (friends get their own).
export function campaignLink() {
  return location.origin + location.pathname + location.hash;
}

export function warnInApp() {
  var app = inAppBrowser(String(navigator.userAgent || ''));
  if (!app) return;
  $('in-app-heading').textContent = t('in_app', { app: app });
  $('copy-link').addEventListener('click', function () {
    copyText(campaignLink(), 'copy-link-status', t('link_copied'), function () {
      $('copy-link-status').textContent = t('link_copy_failed');
    });
  });
  show('in-app', true);
}

/* ---------- announcements the organizers signed ---------- */

function announcementItem(a) {
  var item = el('li', { class: 'announcement' });
  var l = labelOf(a.message);
  var body = el('div', l.lang !== LANG ? { lang: l.lang } : {});
  l.text.split(/\n\s*\n/).forEach(function (para) {
    if (para.trim()) body.appendChild(el('p', {}, para.trim()));
  });
  item.appendChild(el('p', { class: 'hint' }, t('announcement_day', { date: longDate(a.day) })));
  item.appendChild(body);
  return item;
}

// News sits above the form, where students look first (issue 18.9): the newest in full, the
// older ones folded under one line so the form stays near the top of a phone's screen.
function renderAnnouncements(list) {
  var box = $('announcement-list');
  list.sort(function (a, b) { return a.day < b.day ? 1 : a.day > b.day ? -1 : 0; });
  if (list.length) box.appendChild(announcementItem(list[0]));
  if (list.length > 1) {
    var older = el('details', { class: 'older' });
    older.appendChild(el('summary', {}, t('announcement_older', { n: list.length - 1 })));
    var rest = el('ul');
    list.slice(1).forEach(function (a) { rest.appendChild(announcementItem(a)); });
    older.appendChild(rest);
    box.appendChild(el('li')).appendChild(older);
  }
  show('announcements', list.length > 0);
}

// Only announcements signed by the key the link named are shown, and none after its `until`
// day (protocol 1.1) where the campaign is; the rest are dropped quietly.
// The page carries them (data-announcements); an older server's page has them fetched.
export function embeddedAnnouncements(root) {
  try {
    var list = JSON.parse(root.getAttribute('data-announcements'));
    return Array.isArray(list) ? list : null;
  } catch (e) {
    return null;
  }
}

// The page's own (embedded) announcements are drawn in this task, before the page shows, since they
// sit above the form; fetched ones (an older server) come when they come.
export function loadAnnouncements(state, root, loadSealing) {
  if (!state.keyCheckedAgainstLink) return Promise.resolve();
  var embedded = embeddedAnnouncements(root);
  if (embedded) {
    try {
      showAnnouncements(state, embedded);
    } catch (e) { /* news is optional: the pledge form works without it */ }
    return Promise.resolve();
  }
  // Embedded ones were checked natively with the campaign (or the library was loaded then);
  // fetched ones may need the library.
  var path = '/api/v1/campaigns/' + encodeURIComponent(state.campaignId) + '/announcements';
  return callApi('GET', path).then(function (res) {
    return loadSealing().then(function () {
      if (res.status === 200 && res.json && Array.isArray(res.json.announcements)) {
        showAnnouncements(state, res.json.announcements);
      }
    });
  }).catch(function () { /* news is optional: the pledge form works without it */ });
}

function showAnnouncements(state, items) {
  var env = window.PledgeboxEnvelope;
  var good = [];
  items.forEach(function (item) {
    var v = env.verifyAnnouncement(item, state.signingKey, state.campaignId);
    var until = v.ok && v.announcement.until;
    if (v.ok && !(typeof until === 'string' && isOverIn(state.descriptor.time_zone, until))) good.push(v.announcement);
  });
  if (!pledge.refused) renderAnnouncements(good);
}
