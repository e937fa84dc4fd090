/* Counts the organizers signed (protocol 1.1 tallies): shown only when they verify under the
 * link's key, with each option's progress towards its number. */
import { $, el, labelOf, labelled, show, t, withDate } from './dom.js';

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

function thresholdOptions(state) {
  var th = state.descriptor.threshold;
  var field = th && state.descriptor.fields.filter(function (f) { return f.id === th.field; })[0];
  return (field && field.options) || [];
}

// "Covina High, Eastside High" (two at most) "and 3 more": names of the options in `ids`.
function namesOf(options, ids) {
  var names = options.filter(function (o) { return ids.indexOf(o.id) >= 0; })
    .map(function (o) { return labelOf(o.label).text; });
  var shown = names.slice(0, 2).join(', ');
  return names.length > 2 ? t('tally.and_more', { names: shown, n: names.length - 2 }) : shown;
}

// The headline, true whatever the tally holds: counts are of pledges (a phone can pledge twice),
// `total` leaves out the options in `few` (1 to 4 pledges each, never published as a number).
function headline(options, t1) {
  var started = options.filter(function (o) {
    return t1.few.indexOf(o.id) >= 0 || t1.counts[o.id] > 0;
  }).map(function (o) { return o.id; });
  if (t1.total > 0) return t(t1.few.length ? 'tally.more_than' : 'tally.total', { n: t1.total });
  if (started.length) return t('tally.started', { where: namesOf(options, started) });
  return t('tally.none');
}

// Where the action is on, or else the option nearest its number: something true to aim for.
function nextStep(state, options, t1) {
  if (t1.reached.length) return t('tally.on_at', { where: namesOf(options, t1.reached) });
  var th = state.descriptor.threshold;
  var best = null;
  options.forEach(function (o) {
    var n = t1.counts[o.id] || 0;
    var more = ((th.per_option && th.per_option[o.id]) || th.count) - n;
    if (n > 0 && more > 0 && (!best || more < best.more)) best = { name: labelOf(o.label).text, more: more };
  });
  return best ? t('tally.closest', best) : '';
}

// The section below the form (drawn after the form is ready): the headline, each option's progress
// and who signed the count on which day.
export function drawTally(state, t1) {
  if (!t1) return;
  var options = thresholdOptions(state);
  $('tally-total').textContent = headline(options, t1);
  var named = state.text.coalitionName;
  var day = $('tally-day');
  day.textContent = '';
  day.appendChild(withDate('span', named ? 'tally.day_named' : 'tally.day', t1.day,
    { coalition: named ? named.text : '' }));
  var list = $('tally-list');
  if (options.length) {
    $('tally-goal').textContent = t('tally.goal', { n: state.descriptor.threshold.count });
    show('tally-goal', true);
    options.forEach(function (o) { list.appendChild(tallyRow(state, o, t1)); });
  }
  show('tally', true);
}

// A count is shown only when it verified under the link's key; otherwise the page says so.
// Returns the verified tally, after putting its one line in the banner (safety in numbers, a tap
// from the details), which shows with the form; drawTally draws the rest below it later.
export function verifiedTally(state, answer) {
  var item = answer && answer.tally;
  if (!item) return null;
  var v = state.keyCheckedAgainstLink
    ? window.PledgeboxEnvelope.verifyTally(item, state.signingKey, state.campaignId, state.coalitionId)
    : { ok: false };
  if (!v.ok) {
    show('tally-unavailable', true);
    return null;
  }
  var options = thresholdOptions(state);
  var next = options.length ? nextStep(state, options, v.tally) : '';
  document.querySelector('#hero-count a').textContent = headline(options, v.tally) + (next ? ' \u00b7 ' + next : '');
  show('hero-count', true);
  return v.tally;
}
