/* The pledge page (/p/<campaign_id>): checks the campaign and its key, then draws what shows above
 * the form and the form at once (nothing a student already sees moves: see reveal() in
 * page/dom.js), then what lies below it, each step a short task of its own (issue 21).
 * Its parts live in page/: dom.js (shared helpers, words, dates, API calls), form.js (fields and
 * answers), sealing.js (seal and send), counts.js (signed tallies), receipt.js (receipt and
 * sharing), notices.js (refusals, in-app warning, announcements); page/withdraw.js is the
 * withdraw page. Each entry (src/*-entry.js) imports only its own page, so the bundler leaves
 * the other page's code out of that page's script.
 * No pledge leaves the page unless the campaign and its key verified (envelope/verification.js). The
 * campaign's words are taken in the page's language from the signed descriptor. The user
 * agent is read (notices.js) only to spot in-app browsers; it is never sent anywhere. */
import { $, ID_RE, LANG, callApi, el, hashParam, isOverIn, longDate, nextTask, releaseFooter, reveal, say,
  setText, show, t, todayUTC, withDate } from './page/dom.js';
import { drawTally, verifiedTally } from './page/counts.js';
import { onSubmit, renderField } from './page/form.js';
import { embeddedAnnouncements, loadAnnouncements, pledge, refuse, warnInApp } from './page/notices.js';
import { copyReceipt, saveCalendar, shareCampaign } from './page/receipt.js';
import { loadSealing } from './page/sealing.js';

// The banner, and what the form itself says about the campaign (the key checked or not, the
// deletion date): all of it above or inside the form, so drawn before the page shows.
function renderBanner(state) {
  var d = state.descriptor;
  var words = state.text;
  document.title = (words.title ? words.title.text : '') + ' \u2013 Pledgebox';
  setText($('campaign-title'), words.title);
  if (words.coalitionName) {
    setText($('coalition-name'), words.coalitionName);
    show('coalition-name', true);
    Array.prototype.forEach.call(document.querySelectorAll('.coalition-ref'), function (n) {
      setText(n, words.coalitionName);
    });
  }
  if (d.action_date) {
    var day = $('action-date');
    day.setAttribute('datetime', String(d.action_date));
    day.textContent = longDate(d.action_date, 'full');
    show('action-day', true);
  }
  // Without the link's key nothing was checked: the page must not claim who can read a pledge.
  var checked = state.keyCheckedAgainstLink;
  Array.prototype.forEach.call(document.querySelectorAll('.if-checked, .if-unchecked'), function (n) {
    n.hidden = n.classList.contains('if-checked') !== checked;
  });
  var summary = $('before-summary');
  summary.textContent = '';
  summary.appendChild(withDate('span', !checked ? 'before.unchecked'
    : words.coalitionName ? 'before.named' : 'before.unnamed',
    d.delete_after, { coalition: words.coalitionName ? words.coalitionName.text : '' }));
}

// "About this campaign", at the bottom of the page: drawn after the form is ready.
function renderAbout(state) {
  var d = state.descriptor;
  var desc = $('campaign-description');
  var text = state.text.description;
  if (text && text.lang !== LANG) desc.setAttribute('lang', text.lang);
  String(text ? text.text : '').split(/\n\s*\n/).forEach(function (para) {
    if (para.trim()) desc.appendChild(el('p', {}, para.trim()));
  });
  var facts = $('campaign-facts');
  facts.appendChild(withDate('li', d.time_zone ? 'fact.closes_zone' : 'fact.closes', d.closes_at));
  facts.appendChild(withDate('li', 'fact.deleted', d.delete_after));
  show('campaign', true);
}

// The server embeds its campaign answer in the page (a round trip fewer on slow phones); it is
// verified exactly like a fetched one. Without it (an older server), fetch it.
function campaignAnswer(root, campaignId) {
  var embedded = root.getAttribute('data-campaign');
  if (embedded) {
    try {
      var json = JSON.parse(embedded);
      // The descriptor may ride as its UTF-8 text (it compresses; base64 does not): back to the
      // exact bytes it was signed as, which verifyCampaignResponse then checks.
      if (typeof json.descriptor_text === 'string' && json.descriptor === undefined) {
        json.descriptor = window.PledgeboxEnvelope.b64uEncode(new TextEncoder().encode(json.descriptor_text));
      }
      return Promise.resolve({ status: 200, json: json });
    } catch (e) { /* fetch */ }
  }
  var path = '/api/v1/campaigns/' + encodeURIComponent(campaignId);
  return callApi('GET', path).catch(function () { return null; });
}

export function startPledgePage(root) {
  var campaignId = root.getAttribute('data-campaign-id') || '';
  var env = window.PledgeboxEnvelope;
  warnInApp();
  if (!env || !ID_RE.test(campaignId)) return refuse('library');
  var fragmentKey = hashParam('k');
  // A key cut short (a link copied in part) is not a link without a key (an address typed from
  // a poster): the first can never be checked, the second may go on after a warning.
  if (fragmentKey !== null && !/^[A-Za-z0-9_-]{43}$/.test(fragmentKey)) return refuse('key_cut');
  // Each step below is a task of its own (nextTask), short on a slow phone (issue 21): reading the
  // campaign's answer, the browser's own signature checks, the full check, then the drawing.
  return nextTask().then(function () {
    return campaignAnswer(root, campaignId);
  }).then(function (res) {
    if (!res) return refuse('unreachable');
    if (res.status === 404) return refuse('unknown_campaign');
    if (res.status !== 200) return refuse('http_' + res.status);
    // The browser's own Ed25519 checks every signature first; only where it could not vouch for
    // them all does the page load the library, which then decides (page/sealing.js).
    return env.preverifyCampaign(res.json, embeddedAnnouncements(root)).then(function (allNative) {
      return allNative ? res : loadSealing().then(function () { return res; }, function () {
        return refuse('unreachable');
      });
    });
  }).then(function (res) {
    if (!res || res.status !== 200) return;
    return nextTask().then(function () {
      var v = env.verifyCampaignResponse(res.json, fragmentKey, campaignId, todayUTC());
      if (!v.ok) return refuse(v.reason);
      var state = { campaignId: campaignId, descriptor: v.descriptor, signingKey: v.signingKey,
        coalitionId: v.coalitionId, key: v.encryptionKey, keyCheckedAgainstLink: v.keyCheckedAgainstLink,
        text: env.descriptorText(v.descriptor, LANG) };
      return nextTask().then(function () { return drawPage(state, res.json, root); });
    });
  }).catch(function () { refuse('error'); });
}

// The checked campaign, drawn in four tasks, each short on a slow phone (issue 21): the banner and
// the news above the form; the form, after which the page shows (and is enabled, unless closed or
// unchecked), all of it at once; then the counts below it; then "About this campaign" and the
// footer. What is drawn before the page shows stays hidden ("checking") until it does.
function drawPage(state, answer, root) {
  var d = state.descriptor;
  renderBanner(state);
  var tally = verifiedTally(state, answer);
  loadAnnouncements(state, root, loadSealing);
  return nextTask().then(function () {
    if (pledge.refused) return; // never shown, let alone enabled, after a refusal
    var fields = $('pledge-fields');
    d.fields.forEach(function (f, i) { fields.appendChild(renderField(f, i)); });
    $('share-button').addEventListener('click', function () { shareCampaign(state); });
    $('calendar-save').addEventListener('click', function () { saveCalendar(state); });
    $('copy-receipt').addEventListener('click', copyReceipt);
    if (isOverIn(d.time_zone, d.closes_at)) {
      $('closed').textContent = t('closed', { date: longDate(d.closes_at) });
      show('closed', true);
      say('');
      return reveal('closed', true);
    }
    var gate = $('pledge-controls');
    if (!state.keyCheckedAgainstLink) {
      show('unverified-warning', true);
      gate.disabled = true;
      $('continue-anyway').addEventListener('change', function () { gate.disabled = !this.checked; });
    }
    $('pledge-form').addEventListener('submit', function (e) { onSubmit(state, e); });
    // The sealing library comes while the student fills in the form, in time for "send".
    ['focusin', 'pointerdown'].forEach(function (type) {
      $('pledge-form').addEventListener(type, function () { loadSealing().catch(function () {}); }, { once: true });
    });
    show('pledge-form', true);
    say(state.keyCheckedAgainstLink ? t('verified') : t('read_warning'));
    reveal('ready', true);
  }).then(nextTask).then(function () {
    if (!pledge.refused) drawTally(state, tally);
    return nextTask();
  }).then(function () {
    if (pledge.refused) return; // refuse() already let the footer go
    renderAbout(state);
    releaseFooter();
  });
}
