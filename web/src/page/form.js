/* The pledge form: its fields drawn from the signed descriptor, the answers checked next to
 * each field, and the send button (nothing leaves before the checks passed and the answers are
 * sealed, sealing.js). */
import { $, NETWORK_FAILED, el, labelled, say, t } from './dom.js';
import { pledge, refuse } from './notices.js';
import { loadSealing, sendPledge } from './sealing.js';

function markOf(field) {
  if (field.required) return t('required');
  return field.type === 'checkbox' ? '' : t('optional');
}

export function renderField(field, i) {
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

export function onSubmit(state, event) {
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
  loadSealing().then(function () { return sendPledge(state, answers); }).catch(function (e) {
    if (e === NETWORK_FAILED) say(t('send_failed_network'));
    else if (/too large/.test(String(e && e.message))) say(t('too_large'));
    else refuse('library'); // the crypto library failed: send nothing, ever
  }).then(function () {
    pledge.sending = false;
    $('send-button').disabled = false;
  });
}
