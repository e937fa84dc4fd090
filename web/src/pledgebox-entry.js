// Entry point of server/static/js/pledgebox.js, the pledge page's one script (carried inline in
// the page, server/assets.py): the audited crypto libraries, then our crypto recipes, then the
// pledge page's own code, in that order (each sets a global the next one reads).
import './crypto-lib-entry.js';
import './envelope.js';
import { boot } from './page/dom.js';
import { startPledgePage } from './pledge-page.js';

boot('pledge', startPledgePage);
