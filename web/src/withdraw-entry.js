// Entry point of server/static/js/withdraw.js, the withdraw page's script: it checks a receipt's
// shape (envelope/bytes.js's strict base64url) and sends it; no crypto library is needed there.
import './envelope.js';
import { boot } from './page/dom.js';
import { startWithdrawPage } from './page/withdraw.js';

boot('withdraw', startWithdrawPage);
