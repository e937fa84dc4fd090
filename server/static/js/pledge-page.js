/* Pledgebox pages: the pledge form (/p/<campaign_id>) and the withdraw form (/withdraw).
 * Nothing is stored in the browser (no cookies, no web storage); the only requests go to this
 * origin; no pledge leaves the page unless the campaign and its key verified (envelope.js). */
(function () {
  'use strict';

  var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  var NETWORK_FAILED = new Error('network');
  var NOT_SENT = 'so this page will not send anything.';
  var REFUSALS = {
    key_expired: 'This link could not be verified because the organizers\u2019 encryption key has ' +
      'expired and they must refresh it, ' + NOT_SENT,
    unknown_campaign: 'This campaign could not be found (it may have ended and been deleted), ' + NOT_SENT,
    unreachable: 'The server could not be reached to verify this link, ' + NOT_SENT + ' Try again later.',
  };

  function $(id) { return document.getElementById(id); }
  function todayUTC() { return new Date().toISOString().slice(0, 10); }
  function hashParam(name) { return new URLSearchParams(location.hash.slice(1)).get(name); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text) { $('status').textContent = text; }

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

  function errorOf(res) {
    var e = res.json && res.json.error;
    var msg = e && typeof e.message === 'string' ? e.message :
      'Something went wrong (error ' + res.status + '). Your pledge was not sent.';
    if (res.status === 429 && res.retryAfter) msg += ' Try again in ' + res.retryAfter + ' seconds.';
    return { code: e && e.code, message: msg };
  }

  function labelOf(label) {
    if (typeof label === 'string') return label;
    if (!label || typeof label !== 'object') return '';
    return typeof label.en === 'string' ? label.en : String(Object.values(label)[0] || '');
  }

  /* ---------- pledge page ---------- */

  var pledge = { refused: false, sending: false };

  function refuse(reason) {
    pledge.refused = true;
    ['campaign', 'unverified-warning', 'pledge-form', 'before-sending'].forEach(function (id) {
      if ($(id)) $(id).hidden = true;
    });
    var box = $('verify-failed');
    box.textContent = REFUSALS[reason] || 'This link could not be verified, ' + NOT_SENT;
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
    function fact(before, date, after) {
      var li = el('li', {}, before);
      li.appendChild(el('span', { class: 'date' }, date));
      li.appendChild(document.createTextNode(after));
      facts.appendChild(li);
    }
    if (d.action_date) fact('Action date: ', String(d.action_date), '');
    fact('Pledges can be sent until ', d.closes_at, ' (UTC).');
    fact('Your pledge is deleted on ', d.delete_after, ' or sooner if you withdraw it.');
    $('campaign').hidden = false;
  }

  function renderField(field, i) {
    var id = 'pb-field-' + i;
    var wrap = el('div', { class: 'field', 'data-index': String(i) });
    var err = el('p', { class: 'field-error', id: id + '-error', hidden: '' });
    var mark = field.required ? ' (required)' : '';
    var input;
    if (field.type === 'choice') {
      var set = el('fieldset', { 'aria-describedby': err.id });
      set.appendChild(el('legend', {}, labelOf(field.label) + mark));
      field.options.forEach(function (opt, j) {
        var row = el('div', { class: 'option' });
        row.appendChild(el('input', { type: 'radio', name: id, id: id + '-' + j, value: String(opt.id) }));
        row.appendChild(el('label', { for: id + '-' + j }, labelOf(opt.label)));
        set.appendChild(row);
      });
      wrap.appendChild(set);
    } else if (field.type === 'checkbox') {
      wrap.classList.add('check');
      wrap.appendChild(el('input', { type: 'checkbox', id: id, 'aria-describedby': err.id }));
      wrap.appendChild(el('label', { for: id }, labelOf(field.label) + mark));
    } else {
      var long = field.type === 'text' && field.max_length > 200;
      wrap.appendChild(el('label', { for: id }, labelOf(field.label) + mark));
      input = el(long ? 'textarea' : 'input', { id: id, autocomplete: 'off', 'aria-describedby': err.id });
      if (!long) input.setAttribute('type', 'text');
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
        else if (field.required) problem = 'Please choose one.';
      } else if (field.type === 'checkbox') {
        answers[field.id] = $(id).checked;
        if (field.required && !$(id).checked) problem = 'Please tick this box to continue.';
      } else {
        var value = $(id).value.trim();
        if (value) answers[field.id] = value;
        if (field.required && !value) problem = 'Please fill this in.';
        else if (field.max_length > 0 && Array.from(value).length > field.max_length) {
          problem = 'Please use at most ' + field.max_length + ' characters.';
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
    $('pledge-form').reset();
    $('pledge-form').hidden = true;
    $('before-sending').hidden = true;
    $('receipt-text').value = receipt;
    var link = $('receipt-link');
    link.href = '/withdraw#r=' + receipt;
    link.textContent = location.origin + '/withdraw#r=' + receipt;
    $('receipt').hidden = false;
    say('Your pledge was sent. Keep your receipt.');
    $('receipt-heading').focus();
  }

  function copyReceipt() {
    var text = $('receipt-text');
    var done = function (msg) { $('copy-status').textContent = msg; };
    var fallback = function () {
      text.focus();
      text.select();
      done('The receipt is selected: copy it with your phone\u2019s Copy button (or Ctrl+C).');
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.value).then(function () {
        done('Copied. Paste it somewhere private, such as a note on your own phone.');
      }, fallback);
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
      say(res.status === 201 ? 'Your pledge was saved, but the server sent back an unreadable ' +
        'receipt, so it cannot be withdrawn from this page.' : errorOf(res).message);
    });
  }

  function onSubmit(state, event) {
    event.preventDefault();
    if (pledge.refused || pledge.sending) return;
    if (!state.keyCheckedAgainstLink && !$('continue-anyway').checked) {
      say('Tick \u201ccontinue anyway\u201d above before sending.');
      return;
    }
    var answers = collectAnswers(state.descriptor.fields);
    if (!answers) { say('Please fix the answers marked below.'); return; }
    pledge.sending = true;
    $('send-button').disabled = true;
    say('Encrypting and sending\u2026');
    Promise.resolve().then(function () { return sendPledge(state, answers); }).catch(function (e) {
      if (e === NETWORK_FAILED) say('Your pledge could not be sent (the connection failed). Please try again.');
      else if (/too large/.test(String(e && e.message))) say('Your answers are too long to send; please shorten them.');
      else refuse('library'); // the crypto library failed: send nothing, ever
    }).then(function () {
      pledge.sending = false;
      $('send-button').disabled = false;
    });
  }

  function startPledgePage(root) {
    var campaignId = root.getAttribute('data-campaign-id') || '';
    var env = window.PledgeboxEnvelope;
    if (!env || !window.PledgeboxLib || !ID_RE.test(campaignId)) return refuse('library');
    var fragmentKey = hashParam('k');
    var path = '/api/v1/campaigns/' + encodeURIComponent(campaignId);
    return callApi('GET', path).catch(function () { return null; }).then(function (res) {
      if (!res) return refuse('unreachable');
      if (res.status === 404) return refuse('unknown_campaign');
      if (res.status !== 200) return refuse('http_' + res.status);
      var v = env.verifyCampaignResponse(res.json, fragmentKey, campaignId, todayUTC());
      if (!v.ok) return refuse(v.reason);
      var state = { campaignId: campaignId, descriptor: v.descriptor, signingKey: v.signingKey,
        coalitionId: v.coalitionId, key: v.encryptionKey, keyCheckedAgainstLink: v.keyCheckedAgainstLink };
      renderCampaign(v.descriptor);
      var fields = $('pledge-fields');
      v.descriptor.fields.forEach(function (f, i) { fields.appendChild(renderField(f, i)); });
      if (env.dayNumber(todayUTC()) > env.dayNumber(v.descriptor.closes_at)) {
        $('closed').textContent = 'This campaign stopped taking pledges after ' +
          v.descriptor.closes_at + ', so this page will not send anything.';
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
      say(v.keyCheckedAgainstLink ? 'This link was verified: the form below comes from the organizers.' :
        'Read the warning below before you continue.');
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
      if (!r) { say('This does not look like a Pledgebox receipt. Paste the whole receipt.'); return; }
      button.disabled = true;
      say('Deleting\u2026');
      var path = '/api/v1/pledges/' + encodeURIComponent(r.pledgeId) + '/withdraw';
      callApi('POST', path, { withdraw_token: r.token }).then(function (res) {
        if (res.status === 204) {
          input.value = '';
          history.replaceState(null, '', location.pathname);
          say('Your pledge has been deleted for good.');
        } else if (res.status === 404) {
          say('No pledge matches this receipt (it may already be deleted).');
        } else {
          say(errorOf(res).message);
        }
      }, function () {
        say('The server could not be reached. Nothing was deleted; please try again.');
      }).then(function () { button.disabled = false; });
    });
  }

  function start() {
    var root = document.querySelector('[data-page]');
    if (!root) return;
    if (root.getAttribute('data-page') === 'pledge') startPledgePage(root);
    else if (root.getAttribute('data-page') === 'withdraw') startWithdrawPage();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
