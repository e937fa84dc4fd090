/* What every part of the student pages shares: the page's language and sentences, small DOM
 * helpers, dates, and the one way to call our own API.
 * Nothing is stored in the browser (no cookies, no web storage); the only requests go to this
 * origin. Every sentence comes translated from the server in the root's data-messages attribute. */
export var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export var NETWORK_FAILED = new Error('network');
export var LANG = 'en'; // the page's language, read from <html lang> when the page boots
var MESSAGES = {};

// The page's language and its sentences (boot reads them from the page; tests set their own).
export function useWords(lang, messages) {
  LANG = lang;
  MESSAGES = messages && typeof messages === 'object' ? messages : {};
}

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

// Days since 1970-01-01 of a strict "YYYY-MM-DD" (a real calendar day), else NaN.
export function dayNumber(iso) {
  if (typeof iso !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(iso)) return NaN;
  var ms = Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10));
  return new Date(ms).toISOString().slice(0, 10) === iso ? ms / 86400000 : NaN;
}

// Whether the day `iso` is over where the campaign is (today there is later), as todayIn would
// tell. Every zone's date is within one day of UTC's (UTC-12 to UTC+14), so only a day next to
// today's UTC date needs the zone's own calendar: Intl's first use loads its data, tens of ms on
// a slow phone, which the page would otherwise spend before its form is ready (issue 21).
export function isOverIn(zone, iso) {
  var day = dayNumber(iso);
  var utc = dayNumber(todayUTC());
  if (!zone) return utc > day;
  if (day >= utc + 1) return false;
  if (day <= utc - 2) return true;
  return dayNumber(todayIn(zone)) > day;
}

// The next step of a long piece of work in a task of its own, so that the browser can paint and
// answer a tap in between (a task over 50 ms at 4x CPU is a "long task": issue 21).
export function nextTask() {
  var s = globalThis.scheduler;
  if (s && typeof s.yield === 'function') return s.yield();
  return new Promise(function (resolve) {
    var channel = new MessageChannel();
    channel.port1.onmessage = function () { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
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

// Leaves "checking": the page's final layout above the fold, drawn in this same task, appears at
// once, so nothing a student already saw moves (layout shift, issue 21). `state` is ready, closed
// or refused; the stylesheet hides everything but #checking until then. With `more`, parts below
// the form (counts, about) are still to be drawn, in later tasks: the footer waits for
// releaseFooter(), so nothing that shows moves when they arrive.
export function reveal(state, more) {
  $('pledge-app').setAttribute('data-state', state);
  if (!more) releaseFooter();
}

export function releaseFooter() {
  var footer = document.querySelector('footer[data-wait]');
  if (footer) footer.removeAttribute('data-wait');
}

// "2027-02-27" as the page's language writes a date (a calendar day: no zone is shown or
// applied). The server hands the script its language's CLDR patterns and names (the same data
// Intl would load: server/i18n.py, date.*), because Intl's first use costs tens of ms on a slow
// phone; Intl only where a pattern holds a field not given, and the ISO form if it fails too.
var FORMATS = {}; // one Intl formatter per style: making one costs more than using it
export function longDate(iso, style) {
  var parts = String(iso).split('-');
  var key = style || 'long';
  var day = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2]));
  if (isNaN(day.getTime())) return String(iso);
  var text = fromPattern(MESSAGES['date.' + key], day);
  if (text !== null) return text;
  try {
    FORMATS[key] = FORMATS[key] || new Intl.DateTimeFormat(LANG, { dateStyle: key, timeZone: 'UTC' });
    return FORMATS[key].format(day);
  } catch (e) {
    return String(iso);
  }
}

// A CLDR date pattern ("EEEE, d 'de' MMMM 'de' y") filled in for `day` (UTC), or null when the
// pattern or a name it needs is missing.
export function fromPattern(pattern, day) {
  if (typeof pattern !== 'string' || !pattern) return null;
  var months = String(MESSAGES['date.months'] || '').split('|');
  var weekdays = String(MESSAGES['date.weekdays'] || '').split('|');
  var out = '';
  var token = /'((?:[^']|'')*)'|([A-Za-z])\2*|[^'A-Za-z]+/g;
  var at = 0;
  var m;
  while ((m = token.exec(pattern)) !== null) {
    if (m.index !== at) return null; // an unclosed quote
    at = token.lastIndex;
    var f = m[0];
    if (m[1] !== undefined) out += m[1] ? m[1].replace(/''/g, "'") : "'"; // quoted; '' is an apostrophe
    else if (!m[2]) out += f;
    else if (f === 'EEEE' && weekdays.length === 7) out += weekdays[day.getUTCDay()];
    else if (f === 'MMMM' && months.length === 12) out += months[day.getUTCMonth()];
    else if (f === 'M' || f === 'MM') out += pad(day.getUTCMonth() + 1, f.length);
    else if (f === 'd' || f === 'dd') out += pad(day.getUTCDate(), f.length);
    else if (f === 'y' || f === 'yyyy') out += String(day.getUTCFullYear());
    else return null;
  }
  return at === pattern.length ? out : null;
}

function pad(n, width) { return width > 1 && n < 10 ? '0' + n : String(n); }

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
    var messages;
    try { messages = JSON.parse(root.getAttribute('data-messages') || '{}'); } catch (e) { messages = {}; }
    useWords(document.documentElement.lang || 'en', messages);
    keepHashOnLanguageLinks();
    startPage(root);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
