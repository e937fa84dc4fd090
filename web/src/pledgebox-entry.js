// Entry point of server/static/js/pledgebox.js, the one script of the student pages: the audited
// crypto libraries, then our crypto recipes, then the pages' DOM code, in that order (each sets a
// global the next one reads). One file means one round trip on a slow phone, or none when the
// pledge page carries it inline (server/assets.py).
import './crypto-lib-entry.js';
import './envelope.js';
import './pledge-page.js';
