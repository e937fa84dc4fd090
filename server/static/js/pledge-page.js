/* Pledgebox pages: the pledge form (/p/<campaign_id>) and the withdraw form (/withdraw).
 * Nothing is stored in the browser (no cookies, no web storage); the only requests go to this
 * origin; no pledge leaves the page unless the campaign and its key verified (envelope.js).
 * Every sentence comes translated from the server in the root's data-messages attribute, and
 * field labels are taken in the page's language from the signed descriptor. */
(function () {
  'use strict';

  var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  var NETWORK_FAILED = new Error('network');
  var LANG = document.documentElement.lang || 'en';
  var MESSAGES = {};

  function $(id) { return document.getElementById(id); }
  function todayUTC() { return new Date().toISOString().slice(0, 10); }
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

  // "2027-02-27" as the page's language writes a date; the ISO form if Intl is missing.
  function longDate(iso) {
    var parts = String(iso).split('-');
    try {
      return new Intl.DateTimeFormat(LANG, { dateStyle: 'long', timeZone: 'UTC' })
        .format(new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2])));
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
    ['campaign', 'unverified-warning', 'pledge-form', 'before-sending', 'announcements'].forEach(function (id) {
      if ($(id)) $(id).hidden = true;
    });
    var box = $('verify-failed');
    var known = ['key_expired', 'unknown_campaign', 'unreachable'];
    box.textContent = t(known.indexOf(reason) >= 0 ? 'refused.' + reason : 'refused.other');
    box.hidden = false;
    say('');
  }

  function renderCampaign(d) {
    document.title = d.title + ' \u2013 Pledgebox';
    $('campaign-title').textContent = d.title;
    var desc = $('campaign-description');
    String(d.description || '').split(/\n\s*\n/).forEach(function (para) {
      if (para.trim()) desc.appendChild(el('p', {}, para.trim()));
    });
    var facts = $('campaign-facts');
    // The sentence in this language, with the date as a <time> element where {date} stands.
    function fact(key, iso) {
      var parts = t(key, { date: '\u0000' }).split('\u0000');
      var li = el('li', {}, parts[0]);
      li.appendChild(el('time', { class: 'date', datetime: String(iso) }, longDate(iso)));
      li.appendChild(document.createTextNode(parts.slice(1).join('')));
      facts.appendChild(li);
    }
    if (d.action_date) fact('fact.action', d.action_date);
    fact('fact.closes', d.closes_at);
    fact('fact.deleted', d.delete_after);
    $('campaign').hidden = false;
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

  function showReceipt(pledgeId, token) {
    var env = window.PledgeboxEnvelope;
    var receipt = pledgeId + '.' + env.b64uEncode(token);
    token.fill(0);
    $('pledge-form').reset();
    $('pledge-form').hidden = true;
    $('before-sending').hidden = true;
    $('receipt-text').value = receipt;
    var link = $('receipt-link');
    var path = '/withdraw?lang=' + encodeURIComponent(LANG) + '#r=' + receipt;
    link.href = path;
    link.textContent = location.origin + path;
    $('receipt').hidden = false;
    say(t('sent'));
    $('receipt-heading').focus();
  }

  function copyReceipt() {
    var text = $('receipt-text');
    var done = function (msg) { $('copy-status').textContent = msg; };
    var fallback = function () {
      text.focus();
      text.select();
      done(t('copy_fallback'));
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.value).then(function () { done(t('copied')); }, fallback);
    } else {
      fallback();
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
        return showReceipt(res.json.pledge_id, token);
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
    $('announcements').hidden = list.length === 0;
  }

  // Only announcements signed by the key the link named are shown; the rest are dropped quietly.
  function loadAnnouncements(state) {
    if (!state.keyCheckedAgainstLink) return Promise.resolve();
    var env = window.PledgeboxEnvelope;
    var path = '/api/v1/campaigns/' + encodeURIComponent(state.campaignId) + '/announcements';
    return callApi('GET', path).then(function (res) {
      if (res.status !== 200 || !res.json || !Array.isArray(res.json.announcements)) return;
      var good = [];
      res.json.announcements.forEach(function (item) {
        var v = env.verifyAnnouncement(item, state.signingKey, state.campaignId);
        if (v.ok) good.push(v.announcement);
      });
      if (!pledge.refused) renderAnnouncements(good);
    }).catch(function () { /* news is optional: the pledge form works without it */ });
  }

  // The server embeds its campaign answer in the page (a round trip fewer on slow phones); it is
  // verified exactly like a fetched one. Without it (an older server), fetch it.
  function campaignAnswer(root, campaignId) {
    var embedded = root.getAttribute('data-campaign');
    if (embedded) {
      try { return Promise.resolve({ status: 200, json: JSON.parse(embedded) }); } catch (e) { /* fetch */ }
    }
    var path = '/api/v1/campaigns/' + encodeURIComponent(campaignId);
    return callApi('GET', path).catch(function () { return null; });
  }

  function startPledgePage(root) {
    var campaignId = root.getAttribute('data-campaign-id') || '';
    var env = window.PledgeboxEnvelope;
    if (!env || !window.PledgeboxLib || !ID_RE.test(campaignId)) return refuse('library');
    var fragmentKey = hashParam('k');
    return campaignAnswer(root, campaignId).then(function (res) {
      if (!res) return refuse('unreachable');
      if (res.status === 404) return refuse('unknown_campaign');
      if (res.status !== 200) return refuse('http_' + res.status);
      var v = env.verifyCampaignResponse(res.json, fragmentKey, campaignId, todayUTC());
      if (!v.ok) return refuse(v.reason);
      var state = { campaignId: campaignId, descriptor: v.descriptor, signingKey: v.signingKey,
        coalitionId: v.coalitionId, key: v.encryptionKey, keyCheckedAgainstLink: v.keyCheckedAgainstLink };
      renderCampaign(v.descriptor);
      loadAnnouncements(state);
      var fields = $('pledge-fields');
      v.descriptor.fields.forEach(function (f, i) { fields.appendChild(renderField(f, i)); });
      if (env.dayNumber(todayUTC()) > env.dayNumber(v.descriptor.closes_at)) {
        $('closed').textContent = t('closed', { date: longDate(v.descriptor.closes_at) });
        $('closed').hidden = false;
        say('');
        return;
      }
      var gate = $('pledge-controls');
      if (!v.keyCheckedAgainstLink) {
        $('unverified-warning').hidden = false;
        gate.disabled = true;
        $('continue-anyway').addEventListener('change', function () { gate.disabled = !this.checked; });
      }
      $('pledge-form').addEventListener('submit', function (e) { onSubmit(state, e); });
      $('copy-receipt').addEventListener('click', copyReceipt);
      $('before-sending').hidden = false;
      $('pledge-form').hidden = false;
      say(v.keyCheckedAgainstLink ? t('verified') : t('read_warning'));
    }).catch(function () { refuse('error'); });
  }

  /* ---------- withdraw page ---------- */

  function parseReceipt(text) {
    var receipt = text.trim();
    if (receipt.indexOf('#r=') >= 0) receipt = receipt.slice(receipt.indexOf('#r=') + 3);
    var parts = receipt.split('.');
    if (parts.length !== 2 || !ID_RE.test(parts[0])) return null;
    try {
      var token = window.PledgeboxEnvelope.b64uDecode(parts[1]);
      return token.length === 32 ? { pledgeId: parts[0], token: parts[1] } : null;
    } catch (e) {
      return null;
    }
  }

  function startWithdrawPage() {
    var input = $('receipt-input');
    var button = $('withdraw-button');
    if (hashParam('r')) input.value = hashParam('r');
    $('withdraw-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var r = window.PledgeboxEnvelope && parseReceipt(input.value);
      if (!r) { say(t('not_receipt')); return; }
      button.disabled = true;
      say(t('deleting'));
      var path = '/api/v1/pledges/' + encodeURIComponent(r.pledgeId) + '/withdraw';
      callApi('POST', path, { withdraw_token: r.token }).then(function (res) {
        if (res.status === 204) {
          input.value = '';
          history.replaceState(null, '', location.pathname + location.search);
          say(t('deleted'));
        } else if (res.status === 404) {
          say(t('no_match'));
        } else {
          say(errorOf(res, 'withdraw_error').message);
        }
      }, function () {
        say(t('withdraw_unreachable'));
      }).then(function () { button.disabled = false; });
    });
  }

  function start() {
    var root = document.querySelector('[data-page]');
    if (!root) return;
    try { MESSAGES = JSON.parse(root.getAttribute('data-messages') || '{}') || {}; } catch (e) { MESSAGES = {}; }
    keepHashOnLanguageLinks();
    if (root.getAttribute('data-page') === 'pledge') startPledgePage(root);
    else if (root.getAttribute('data-page') === 'withdraw') startWithdrawPage();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
