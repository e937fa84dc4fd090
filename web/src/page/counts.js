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

// "Covina High, Eastside High" (two at most), else "3 of 5": where the action goes ahead.
function reachedNames(state, t1) {
  var th = state.descriptor.threshold;
  var field = th && state.descriptor.fields.filter(function (f) { return f.id === th.field; })[0];
  var options = (field && field.options) || [];
  if (t1.reached.length > 2 || !options.length) return t1.reached.length + ' / ' + (options.length || '?');
  return options.filter(function (o) { return t1.reached.indexOf(o.id) >= 0; })
    .map(function (o) { return labelOf(o.label).text; }).join(', ');
}

function renderTally(state, t1) {
  var total = t1.total === 1 ? t('tally.total_one') : t('tally.total', { n: t1.total });
  $('tally-total').textContent = total;
  // Safety in numbers, in the banner too: the count, and where it's on, a tap from the details.
  var on = t1.reached.length ? ' \u00b7 ' + t('tally.on_at', { where: reachedNames(state, t1) }) : '';
  document.querySelector('#hero-count a').textContent = total + on;
  show('hero-count', true);
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
export function showTally(state, answer) {
  var item = answer && answer.tally;
  if (!item) return;
  var v = state.keyCheckedAgainstLink
    ? window.PledgeboxEnvelope.verifyTally(item, state.signingKey, state.campaignId, state.coalitionId)
    : { ok: false };
  if (v.ok) renderTally(state, v.tally);
  else show('tally-unavailable', true);
}
