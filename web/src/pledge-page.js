/* Pledgebox pages: the pledge form (/p/<campaign_id>) and the withdraw form (/withdraw).
 * An ES module: each page's entry (src/*-entry.js) imports only its own start function, so the
 * bundler leaves the other page's code out of that page's script.
 * Nothing is stored in the browser (no cookies, no web storage); the only requests go to this
 * origin; no pledge leaves the page unless the campaign and its key verified (envelope.js).
 * Every sentence comes translated from the server in the root's data-messages attribute, and
 * the campaign's words are taken in the page's language from the signed descriptor. The user
 * agent is read here only, to spot in-app browsers; it is never sent anywhere. */
var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
var NETWORK_FAILED = new Error('network');
var LANG = 'en'; // the page's language, read from <html lang> when the page boots
var MESSAGES = {};

function $(id) { return document.getElementById(id); }
function todayUTC() { return new Date().toISOString().slice(0, 10); }
// Today's date where the campaign is (protocol 1.1 time_zone); UTC without one, as in v1.
function todayIn(zone) {
  if (!zone) return todayUTC();
  try {
    var p = {};
    new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date()).forEach(function (x) { p[x.type] = x.value; });
    return p.year + '-' + p.month + '-' + p.day;
  } catch (e) {
    return todayUTC();
  }
}
function show(id, on) { $(id).hidden = !on; }
function hashParam(name) { return new URLSearchParams(location.hash.slice(1)).get(name); }

// t('err.too_long', {n: 200}): the translated sentence with its {placeholders} filled in.
function t(key, values) {
  var text = Object.prototype.hasOwnProperty.call(MESSAGES, key) ? String(MESSAGES[key]) : key;
  return text.replace(/\{(\w+)\}/g, function (whole, name) {
    return values && values[name] !== undefined ? String(values[name]) : whole;
  });
}

function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text) { $('status').textContent = text; }

// "2027-02-27" as the page's language writes a date (a calendar day: no zone is shown or
// applied); the ISO form if Intl is missing.
var FORMATS = {}; // one Intl formatter per style: making one costs more than using it
function longDate(iso, style) {
  var parts = String(iso).split('-');
  var key = style || 'long';
  try {
    FORMATS[key] = FORMATS[key] || new Intl.DateTimeFormat(LANG, { dateStyle: key, timeZone: 'UTC' });
    return FORMATS[key].format(new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2])));
  } catch (e) {
    return String(iso);
  }
}

// Same-origin JSON call; never sends credentials, never caches, never follows a redirect.
function callApi(method, path, body) {
  var init = { method: method, credentials: 'omit', cache: 'no-store', redirect: 'error',
    referrerPolicy: 'no-referrer', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init).catch(function () { throw NETWORK_FAILED; }).then(function (res) {
    return res.text().then(function (text) {
      var json = null;
      try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
      return { status: res.status, json: json, retryAfter: res.headers.get('Retry-After') };
    });
  });
}

// What to tell a student about a refused request, in their language (the server's own
// message is English, so the codes a student can meet are translated here).
function errorOf(res, key) {
  var e = res.json && res.json.error;
  var code = e && e.code;
  var msg = t(key || 'http_error', { status: res.status });
  if (code === 'rate_limited') msg = t('rate_limited', { seconds: res.retryAfter || 60 });
  else if (code === 'campaign_closed') msg = t('closed_now');
  return { code: code, message: msg };
}

// {text, lang} of a {"en": …, "es": …} label: the page's language, else what the organizers wrote.
function labelOf(label) {
  if (typeof label === 'string') return { text: label, lang: LANG };
  if (!label || typeof label !== 'object') return { text: '', lang: LANG };
  if (typeof label[LANG] === 'string') return { text: label[LANG], lang: LANG };
  var lang = typeof label.en === 'string' ? 'en' : Object.keys(label)[0];
  return { text: String(label[lang] || ''), lang: lang };
}

// A label element: marked with its own language when it falls back, so screen readers say it right.
function labelled(tag, attrs, label, suffix) {
  var l = labelOf(label);
  var node = el(tag, attrs);
  var words = el('span', l.lang !== LANG ? { lang: l.lang } : {}, l.text);
  node.appendChild(words);
  // Organizers sometimes write "(optional)" into the label themselves: say it once.
  if (suffix && l.text.toLowerCase().indexOf(suffix.toLowerCase()) < 0) {
    node.appendChild(document.createTextNode(' ' + suffix));
  }
  return node;
}

// The language switch reloads the page with ?lang=…; keep the #k= key (or #r= receipt) with it.
function keepHashOnLanguageLinks() {
  Array.prototype.forEach.call(document.querySelectorAll('a[data-keep-hash]'), function (a) {
    var base = a.getAttribute('href').split('#')[0];
    var update = function () { a.setAttribute('href', base + location.hash); };
    update();
    a.addEventListener('click', update);
    a.addEventListener('focus', update);
  });
}

/* ---------- pledge page ---------- */

var pledge = { refused: false, sending: false };

function refuse(reason) {
  pledge.refused = true;
  ['campaign', 'unverified-warning', 'pledge-form', 'announcements', 'tally', 'tally-unavailable'].forEach(function (id) {
    if ($(id)) $(id).hidden = true;
  });
  var box = $('verify-failed');
  var known = ['key_expired', 'unknown_campaign', 'unreachable'];
  box.textContent = t(known.indexOf(reason) >= 0 ? 'refused.' + reason : 'refused.other');
  box.hidden = false;
  document.title = 'Pledgebox'; // not the server's unchecked title
  say('');
}

// Text in its own language: marked with lang= when it falls back to another one.
function setText(node, words) {
  node.textContent = words ? words.text : '';
  if (words && words.lang !== LANG) node.setAttribute('lang', words.lang);
}

// The sentence in this language, with the date as a <time> element where {date} stands.
function withDate(tag, key, iso, values) {
  var v = Object.assign({}, values, { date: '\u0000' });
  var parts = t(key, v).split('\u0000');
  var node = el(tag, {}, parts[0]);
  node.appendChild(el('time', { class: 'date', datetime: String(iso) }, longDate(iso)));
  node.appendChild(document.createTextNode(parts.slice(1).join('')));
  return node;
}

function renderCampaign(state) {
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
  var desc = $('campaign-description');
  var text = words.description;
  if (text && text.lang !== LANG) desc.setAttribute('lang', text.lang);
  String(text ? text.text : '').split(/\n\s*\n/).forEach(function (para) {
    if (para.trim()) desc.appendChild(el('p', {}, para.trim()));
  });
  var facts = $('campaign-facts');
  facts.appendChild(withDate('li', d.time_zone ? 'fact.closes_zone' : 'fact.closes', d.closes_at));
  facts.appendChild(withDate('li', 'fact.deleted', d.delete_after));
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
  show('campaign', true);
}

/* ---------- counts the organizers signed (protocol 1.1 tallies) ---------- */

function tallyRow(state, option, t1) {
  var th = state.descriptor.threshold;
  var goal = (th.per_option && th.per_option[option.id]) || th.count;
  var li = el('li', { class: 'tally-row' });
  var name = labelled('span', { class: 'tally-name' }, option.label);
  li.appendChild(name);
  var reached = t1.reached.indexOf(option.id) >= 0;
  var few = t1.few.indexOf(option.id) >= 0;
  var n = few ? 0 : (t1.counts[option.id] || 0);
  var line = reached ? t('tally.on', { n: n, goal: goal })
    : few ? t('tally.few', { goal: goal })
    : t('tally.progress', { n: n, goal: goal, more: Math.max(goal - n, 0) });
  li.appendChild(el('span', { class: reached ? 'tally-on' : 'tally-count' }, line));
  var bar = el('progress', { max: String(goal), value: String(reached ? goal : Math.min(n, goal)) });
  bar.setAttribute('aria-label', (name.textContent || '') + ': ' + line);
  li.appendChild(bar);
  return li;
}

function renderTally(state, t1) {
  var total = t1.total === 1 ? t('tally.total_one') : t('tally.total', { n: t1.total });
  $('tally-total').textContent = total;
  var named = state.text.coalitionName;
  var day = $('tally-day');
  day.textContent = '';
  day.appendChild(withDate('span', named ? 'tally.day_named' : 'tally.day', t1.day,
    { coalition: named ? named.text : '' }));
  var list = $('tally-list');
  var th = state.descriptor.threshold;
  var field = th && state.descriptor.fields.filter(function (f) { return f.id === th.field; })[0];
  if (field && field.options) {
    $('tally-goal').textContent = t('tally.goal', { n: th.count });
    show('tally-goal', true);
    field.options.forEach(function (o) { list.appendChild(tallyRow(state, o, t1)); });
  }
  show('tally', true);
}

// A count is shown only when it verified under the link's key; otherwise the page says so.
function showTally(state, answer) {
  var item = answer && answer.tally;
  if (!item) return;
  var v = state.keyCheckedAgainstLink
    ? window.PledgeboxEnvelope.verifyTally(item, state.signingKey, state.campaignId, state.coalitionId)
    : { ok: false };
  if (v.ok) renderTally(state, v.tally);
  else show('tally-unavailable', true);
}

function markOf(field) {
  if (field.required) return t('required');
  return field.type === 'checkbox' ? '' : t('optional');
}

function renderField(field, i) {
  var id = 'pb-field-' + i;
  var wrap = el('div', { class: 'field', 'data-index': String(i) });
  var err = el('p', { class: 'field-error', id: id + '-error', hidden: '' });
  var described = err.id;
  var input;
  if (field.type === 'choice') {
    var set = el('fieldset', { 'aria-describedby': described });
    set.appendChild(labelled('legend', {}, field.label, markOf(field)));
    field.options.forEach(function (opt, j) {
      var row = el('div', { class: 'option' });
      row.appendChild(el('input', { type: 'radio', name: id, id: id + '-' + j, value: String(opt.id) }));
      row.appendChild(labelled('label', { for: id + '-' + j }, opt.label));
      set.appendChild(row);
    });
    wrap.appendChild(set);
  } else if (field.type === 'checkbox') {
    wrap.classList.add('check');
    wrap.appendChild(el('input', { type: 'checkbox', id: id, 'aria-describedby': described }));
    wrap.appendChild(labelled('label', { for: id }, field.label, markOf(field)));
  } else {
    var long = field.type === 'text' && field.max_length > 200;
    wrap.appendChild(labelled('label', { for: id }, field.label, markOf(field)));
    if (field.type === 'contact') {
      wrap.appendChild(el('p', { class: 'hint', id: id + '-hint' }, t('contact_hint')));
      described = id + '-hint ' + described;
    }
    input = el(long ? 'textarea' : 'input', { id: id, autocomplete: 'off', 'aria-describedby': described });
    if (!long) input.setAttribute('type', 'text');
    if (field.required) input.setAttribute('aria-required', 'true');
    if (field.max_length > 0) input.setAttribute('maxlength', String(field.max_length));
    wrap.appendChild(input);
  }
  wrap.appendChild(err);
  return wrap;
}

// Returns the answers, or null after showing each problem next to its field.
function collectAnswers(fields) {
  var answers = {};
  var firstBad = null;
  fields.forEach(function (field, i) {
    var id = 'pb-field-' + i;
    var problem = '';
    if (field.type === 'choice') {
      var picked = document.querySelector('input[name="' + id + '"]:checked');
      if (picked) answers[field.id] = picked.value;
      else if (field.required) problem = t('err.choose');
    } else if (field.type === 'checkbox') {
      answers[field.id] = $(id).checked;
      if (field.required && !$(id).checked) problem = t('err.tick');
    } else {
      var value = $(id).value.trim();
      if (value) answers[field.id] = value;
      if (field.required && !value) problem = t('err.fill');
      else if (field.max_length > 0 && Array.from(value).length > field.max_length) {
        problem = t('err.too_long', { n: field.max_length });
      }
    }
    var err = $(id + '-error');
    err.textContent = problem;
    err.hidden = !problem;
    var control = field.type === 'choice' ? document.querySelector('input[name="' + id + '"]') : $(id);
    if (problem) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
    if (problem && !firstBad) firstBad = control;
  });
  if (firstBad) firstBad.focus();
  return firstBad ? null : answers;
}

function showReceipt(state, pledgeId, token) {
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

// Copies text; says `ok` in the status element, or runs `fallback` where the clipboard refuses.
function copyText(text, statusId, ok, fallback) {
  var done = function () { $(statusId).textContent = ok; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
}

function copyReceipt() {
  var box = $('receipt-text');
  copyText(box.value, 'copy-status', t('copied'), function () {
    box.focus();
    box.select();
    $('copy-status').textContent = t('copy_fallback');
  });
}

// The link to pass on: this page with its #k= key, without a ?lang= (friends get their own).
function campaignLink() {
  return location.origin + location.pathname + location.hash;
}

/* ---------- in-app browsers: the app that opened the link can read the page ---------- */

var IN_APP = [['Instagram', /Instagram/], ['TikTok', /musical_ly|TikTok|BytedanceWebview/],
  ['Snapchat', /Snapchat/], ['Facebook', /FBAN|FBAV|FB_IAB|FBIOS|FB4A/]];

function inAppBrowser(ua) {
  for (var i = 0; i < IN_APP.length; i++) if (IN_APP[i][1].test(ua)) return IN_APP[i][0];
  return null;
}

function warnInApp() {
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

/* ---------- sharing after a pledge ---------- */

function shareCampaign(state) {
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

function sendPledge(state, answers) {
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

function onSubmit(state, event) {
  event.preventDefault();
  if (pledge.refused || pledge.sending) return;
  if (!state.keyCheckedAgainstLink && !$('continue-anyway').checked) {
    say(t('tick_continue'));
    return;
  }
  var answers = collectAnswers(state.descriptor.fields);
  if (!answers) { say(t('fix_answers')); return; }
  pledge.sending = true;
  $('send-button').disabled = true;
  say(t('sending'));
  Promise.resolve().then(function () { return sendPledge(state, answers); }).catch(function (e) {
    if (e === NETWORK_FAILED) say(t('send_failed_network'));
    else if (/too large/.test(String(e && e.message))) say(t('too_large'));
    else refuse('library'); // the crypto library failed: send nothing, ever
  }).then(function () {
    pledge.sending = false;
    $('send-button').disabled = false;
  });
}

function renderAnnouncements(list) {
  var box = $('announcement-list');
  list.sort(function (a, b) { return a.day < b.day ? 1 : a.day > b.day ? -1 : 0; });
  list.forEach(function (a) {
    var item = el('li', { class: 'announcement' });
    var l = labelOf(a.message);
    var body = el('div', l.lang !== LANG ? { lang: l.lang } : {});
    l.text.split(/\n\s*\n/).forEach(function (para) {
      if (para.trim()) body.appendChild(el('p', {}, para.trim()));
    });
    item.appendChild(el('p', { class: 'hint' }, t('announcement_day', { date: longDate(a.day) })));
    item.appendChild(body);
    box.appendChild(item);
  });
  show('announcements', list.length > 0);
}

// Only announcements signed by the key the link named are shown, and none after its `until`
// day (protocol 1.1) where the campaign is; the rest are dropped quietly.
// The page carries them (data-announcements); an older server's page has them fetched.
function loadAnnouncements(state, root) {
  if (!state.keyCheckedAgainstLink) return Promise.resolve();
  var env = window.PledgeboxEnvelope;
  var today = env.dayNumber(todayIn(state.descriptor.time_zone));
  var path = '/api/v1/campaigns/' + encodeURIComponent(state.campaignId) + '/announcements';
  var embedded = null;
  try { embedded = JSON.parse(root.getAttribute('data-announcements')); } catch (e) { embedded = null; }
  var answer = Array.isArray(embedded)
    ? Promise.resolve({ status: 200, json: { announcements: embedded } }) : callApi('GET', path);
  return answer.then(function (res) {
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.announcements)) return;
    var good = [];
    res.json.announcements.forEach(function (item) {
      var v = env.verifyAnnouncement(item, state.signingKey, state.campaignId);
      var until = v.ok && v.announcement.until;
      if (v.ok && !(typeof until === 'string' && env.dayNumber(until) < today)) good.push(v.announcement);
    });
    if (!pledge.refused) renderAnnouncements(good);
  }).catch(function () { /* news is optional: the pledge form works without it */ });
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
  if (!env || !window.PledgeboxLib || !ID_RE.test(campaignId)) return refuse('library');
  var fragmentKey = hashParam('k');
  return campaignAnswer(root, campaignId).then(function (res) {
    if (!res) return refuse('unreachable');
    if (res.status === 404) return refuse('unknown_campaign');
    if (res.status !== 200) return refuse('http_' + res.status);
    return env.preverifyCampaign(res.json).then(function () { return res; });
  }).then(function (res) {
    if (!res || res.status !== 200) return;
    var v = env.verifyCampaignResponse(res.json, fragmentKey, campaignId, todayUTC());
    if (!v.ok) return refuse(v.reason);
    var state = { campaignId: campaignId, descriptor: v.descriptor, signingKey: v.signingKey,
      coalitionId: v.coalitionId, key: v.encryptionKey, keyCheckedAgainstLink: v.keyCheckedAgainstLink,
      text: env.descriptorText(v.descriptor, LANG) };
    renderCampaign(state);
    showTally(state, res.json);
    loadAnnouncements(state, root);
    var fields = $('pledge-fields');
    v.descriptor.fields.forEach(function (f, i) { fields.appendChild(renderField(f, i)); });
    $('share-button').addEventListener('click', function () { shareCampaign(state); });
    var today = todayIn(v.descriptor.time_zone);
    if (env.dayNumber(today) > env.dayNumber(v.descriptor.closes_at)) {
      $('closed').textContent = t('closed', { date: longDate(v.descriptor.closes_at) });
      show('closed', true);
      say('');
      return;
    }
    var gate = $('pledge-controls');
    if (!v.keyCheckedAgainstLink) {
      show('unverified-warning', true);
      gate.disabled = true;
      $('continue-anyway').addEventListener('change', function () { gate.disabled = !this.checked; });
    }
    $('pledge-form').addEventListener('submit', function (e) { onSubmit(state, e); });
    $('copy-receipt').addEventListener('click', copyReceipt);
    show('pledge-form', true);
    say(v.keyCheckedAgainstLink ? t('verified') : t('read_warning'));
  }).catch(function () { refuse('error'); });
}

/* ---------- withdraw page ---------- */

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

// Runs `startPage(root)` once the page is parsed, if this is that page (never in Node).
export function boot(name, startPage) {
  if (typeof document === 'undefined') return;
  var start = function () {
    var root = document.querySelector('[data-page="' + name + '"]');
    if (!root) return;
    LANG = document.documentElement.lang || 'en';
    try { MESSAGES = JSON.parse(root.getAttribute('data-messages') || '{}') || {}; } catch (e) { MESSAGES = {}; }
    keepHashOnLanguageLinks();
    startPage(root);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
