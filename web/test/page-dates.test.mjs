// The pledge page's dates without Intl on the way to a ready form (issue 21): CLDR patterns and
// names from the server (server/i18n.py, date_words) give what Intl gives, and the campaign's
// zone is asked for (Intl) only on a day next to today's UTC date.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayNumber, isOverIn, longDate, todayIn, todayUTC, useWords } from '../src/page/dom.js';

// What server/i18n.py date_words() sends (Babel's CLDR), as the page gets it.
const WORDS = {
  en: { 'date.long': 'MMMM d, y', 'date.full': 'EEEE, MMMM d, y',
    'date.months': 'January|February|March|April|May|June|July|August|September|October|November|December',
    'date.weekdays': 'Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday' },
  es: { 'date.long': "d 'de' MMMM 'de' y", 'date.full': "EEEE, d 'de' MMMM 'de' y",
    'date.months': 'enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre',
    'date.weekdays': 'domingo|lunes|martes|miércoles|jueves|viernes|sábado' },
};

function countIntl(run) {
  const Real = Intl.DateTimeFormat;
  let made = 0;
  Intl.DateTimeFormat = function (...args) { made += 1; return new Real(...args); };
  try { run(); } finally { Intl.DateTimeFormat = Real; }
  return made;
}

test('dates read as Intl writes them, in English and Spanish, without making an Intl formatter', () => {
  for (const lang of ['en', 'es']) {
    useWords(lang, WORDS[lang]);
    for (let d = 0; d < 800; d += 3) {
      const day = new Date(Date.UTC(2026, 0, 1) + d * 86400000);
      const iso = day.toISOString().slice(0, 10);
      for (const style of ['long', 'full']) {
        const intl = new Intl.DateTimeFormat(lang, { dateStyle: style, timeZone: 'UTC' }).format(day);
        let ours;
        assert.equal(countIntl(() => { ours = longDate(iso, style); }), 0);
        assert.equal(ours, intl, `${lang} ${style} ${iso}`);
      }
    }
  }
});

test('a pattern with a field the server did not send, or no words at all, falls back to Intl', () => {
  useWords('en', { ...WORDS.en, 'date.long': 'MMM d, y' }); // abbreviated month names: not sent
  assert.equal(longDate('2027-02-27'), 'February 27, 2027');
  useWords('es', {});
  assert.equal(longDate('2027-02-27', 'full'), 'sábado, 27 de febrero de 2027');
  useWords('en', { ...WORDS.en, 'date.long': "d 'o''clock' MMMM" }); // '' is an apostrophe
  assert.equal(longDate('2027-02-27'), "27 o'clock February");
  useWords('en', { ...WORDS.en, 'date.long': "MMMM 'd" }); // an unclosed quote
  assert.equal(longDate('2027-02-27'), 'February 27, 2027');
  assert.equal(longDate('not a date'), 'not a date');
});

test('whether a day is over where the campaign is: as todayIn tells, Intl only next to today', () => {
  const zones = [undefined, 'UTC', 'Pacific/Kiritimati', 'Etc/GMT+12', 'America/Los_Angeles',
    'Asia/Tokyo', 'Not/A_Zone'];
  const utc = dayNumber(todayUTC());
  for (const zone of zones) {
    for (let d = -6; d <= 6; d++) {
      const iso = new Date((utc + d) * 86400000).toISOString().slice(0, 10);
      let over;
      const made = countIntl(() => { over = isOverIn(zone, iso); });
      assert.equal(over, dayNumber(todayIn(zone)) > utc + d, `${zone} ${iso}`);
      if (d >= 1 || d <= -2 || !zone) assert.equal(made, 0, `${zone} ${iso}: no Intl needed`);
    }
    assert.equal(isOverIn(zone, 'never'), false);
  }
});
