// Entry point of server/static/js/pledgebox.js, the pledge page's one inline script (carried in
// the page, server/assets.py): our crypto recipes, then the pledge page's own code. The audited
// crypto libraries are server/static/js/sealing.js (crypto-lib-entry.js), which the page loads
// only when it needs them (page/sealing.js: loadSealing).
import './envelope.js';
import { boot } from './page/dom.js';
import { startPledgePage } from './pledge-page.js';

boot('pledge', startPledgePage);
