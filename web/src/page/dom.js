/* What every part of the student pages shares: the page's language and sentences, small DOM
 * helpers, dates, and the one way to call our own API.
 * Nothing is stored in the browser (no cookies, no web storage); the only requests go to this
 * origin. Every sentence comes translated from the server in the root's data-messages attribute. */
export var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export var NETWORK_FAILED = new Error('network');
export var LANG = 'en'; // the page's language, read from <html lang> when the page boots
var MESSAGES = {};

export function $(id) { return document.getElementById(id); }
export function todayUTC() { return new Date().toISOString().slice(0, 10); }
// Today's date where the campaign is (protocol 1.1 time_zone); UTC without one, as in v1.
export function todayIn(zone) {
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
export function show(id, on) { $(id).hidden = !on; }
export function hashParam(name) { return new URLSearchParams(location.hash.slice(1)).get(name); }

// t('err.too_long', {n: 200}): the translated sentence with its {placeholders} filled in.
export function t(key, values) {
  var text = Object.prototype.hasOwnProperty.call(MESSAGES, key) ? String(MESSAGES[key]) : key;
  return text.replace(/\{(\w+)\}/g, function (whole, name) {
    return values && values[name] !== undefined ? String(values[name]) : whole;
  });
}

export function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined) node.textContent = text;
  return node;
}

export function say(text) { $('status').textContent = text; }

// Leaves "checking": the page's final layout, drawn in this same task, appears at once with the
// footer, so nothing a student already saw moves (layout shift, issue 21). `state` is ready,
// closed or refused; the stylesheet hides everything but #checking until then.
export function reveal(state) {
  $('pledge-app').setAttribute('data-state', state);
  var footer = document.querySelector('footer[data-wait]');
  if (footer) footer.removeAttribute('data-wait');
}

// "2027-02-27" as the page's language writes a date (a calendar day: no zone is shown or
// applied); the ISO form if Intl is missing.
var FORMATS = {}; // one Intl formatter per style: making one costs more than using it
export function longDate(iso, style) {
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
export function callApi(method, path, body) {
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
export function errorOf(res, key) {
  var e = res.json && res.json.error;
  var code = e && e.code;
  var msg = t(key || 'http_error', { status: res.status });
  if (code === 'rate_limited') msg = t('rate_limited', { seconds: res.retryAfter || 60 });
  else if (code === 'campaign_closed') msg = t('closed_now');
  return { code: code, message: msg };
}

// {text, lang} of a {"en": …, "es": …} label: the page's language, else what the organizers wrote.
export function labelOf(label) {
  if (typeof label === 'string') return { text: label, lang: LANG };
  if (!label || typeof label !== 'object') return { text: '', lang: LANG };
  if (typeof label[LANG] === 'string') return { text: label[LANG], lang: LANG };
  var lang = typeof label.en === 'string' ? 'en' : Object.keys(label)[0];
  return { text: String(label[lang] || ''), lang: lang };
}

// A label element: marked with its own language when it falls back, so screen readers say it right.
export function labelled(tag, attrs, label, suffix) {
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

// Text in its own language: marked with lang= when it falls back to another one.
export function setText(node, words) {
  node.textContent = words ? words.text : '';
  if (words && words.lang !== LANG) node.setAttribute('lang', words.lang);
}

// The sentence in this language, with the date as a <time> element where {date} stands.
export function withDate(tag, key, iso, values) {
  var v = Object.assign({}, values, { date: '\u0000' });
  var parts = t(key, v).split('\u0000');
  var node = el(tag, {}, parts[0]);
  node.appendChild(el('time', { class: 'date', datetime: String(iso) }, longDate(iso)));
  node.appendChild(document.createTextNode(parts.slice(1).join('')));
  return node;
}

// Copies text; says `ok` in the status element, or runs `fallback` where the clipboard refuses.
export function copyText(text, statusId, ok, fallback) {
  var done = function () { $(statusId).textContent = ok; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
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
