// The organizer app's one script: copy buttons, the passphrase strength meter, job progress,
// live parts (the roster's counts), pages that follow changes (the invite handshake) and print
// buttons.
// Forms work without it; it only makes them friendlier. No inline script (the CSP forbids it).
"use strict";

(function () {
  const csrf = document.body.dataset.csrf || "";
  const background = { "X-CSRF-Token": csrf, "X-Pledgebox-Background": "1" };

  function copyButtons(root) {
    (root || document).querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", async () => {
        const field = document.getElementById(button.dataset.copy);
        if (!field) return;
        field.select();
        try {
          await navigator.clipboard.writeText(field.value);
        } catch (e) {
          document.execCommand("copy");
        }
        const before = button.textContent;
        button.textContent = button.dataset.copied || before;
        setTimeout(() => { button.textContent = before; }, 2000);
      });
    });
  }

  function suggestion() {
    document.querySelectorAll("[data-use-suggestion]").forEach((button) => {
      button.addEventListener("click", () => {
        const source = document.getElementById(button.dataset.useSuggestion);
        ["passphrase", "passphrase-again"].forEach((id) => {
          const field = document.getElementById(id);
          if (field && source) {
            field.value = source.value;
            field.dispatchEvent(new Event("input"));
          }
        });
      });
    });
  }

  function strengthMeter() {
    const form = document.querySelector("form[data-strength]");
    const input = document.getElementById("passphrase");
    const meter = document.getElementById("strength");
    const text = document.getElementById("strength-text");
    if (!form || !input || !meter || !text) return;
    let timer = null;
    let asked = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++asked;
        if (!input.value) {
          meter.value = 0;
          text.textContent = text.dataset.empty;
          return;
        }
        const body = new URLSearchParams({ passphrase: input.value });
        const reply = await fetch(form.dataset.strength, { method: "POST", body, headers: background });
        if (!reply.ok || mine !== asked) return;
        const result = await reply.json();
        meter.value = result.bits;
        text.textContent = result.strong_enough ? text.dataset.ok : text.dataset.weak;
      }, 250);
    });
  }

  function jobProgress() {
    const box = document.querySelector("[data-job]");
    if (!box) return;
    const refresh = document.querySelector('meta[http-equiv="refresh"]');
    if (refresh) refresh.remove();  // this script keeps the page up to date instead
    const bar = document.getElementById("job-progress");
    const status = document.getElementById("job-status");
    const next = document.getElementById("job-next");
    const hint = box.querySelector("[data-working-hint]");
    async function poll() {
      const reply = await fetch(box.dataset.job, { headers: background });
      if (!reply.ok) return;
      const job = await reply.json();
      if (job.total) {
        bar.max = job.total;
        bar.value = job.done;
        status.textContent = box.dataset.doneText.replace("{done}", job.done).replace("{total}", job.total);
      }
      if (job.finished) {
        bar.max = 1;
        bar.value = 1;
        status.textContent = job.error || job.message;
        next.hidden = false;
        if (hint) hint.hidden = true;
        next.focus();
        return;
      }
      setTimeout(poll, 700);
    }
    poll();
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // A part of the page the app re-renders while it is open (the roster's counts): fetched as
  // HTML from this app (escaped by its templates) and swapped in; its own attributes say when
  // to ask again. A redirect means the app locked: reload, so the unlock page shows.
  function liveParts() {
    const first = document.querySelector("[data-refresh-url]");
    if (!first) return;
    const later = (part) => 1000 * (Number(part.dataset.refreshSeconds) || 15);
    async function refresh() {
      const part = document.querySelector("[data-refresh-url]");
      try {
        const reply = await fetch(part.dataset.refreshUrl, { headers: background });
        if (reply.redirected) { location.reload(); return; }
        if (reply.ok) {
          const doc = new DOMParser().parseFromString(await reply.text(), "text/html");
          const fresh = doc.querySelector("[data-refresh-url]");
          if (fresh) part.replaceWith(document.importNode(fresh, true));
          // other parts rendered from the same snapshot (the roster's table), swapped together
          doc.querySelectorAll("[data-live-part][id]").forEach((other) => {
            const here = document.getElementById(other.id);
            if (here && here.hasAttribute("data-live-part")) here.replaceWith(document.importNode(other, true));
          });
        }
      } catch (e) {
        // the app is not answering (stopped?): keep what is shown and try again later
      }
      setTimeout(refresh, later(document.querySelector("[data-refresh-url]")));
    }
    setTimeout(refresh, later(first));
  }

  // The wizard's dates, checked as soon as one is typed, with the same rules and words as the
  // app's own check when the form is sent (organizer/campaign_form.py check_dates).
  function dateChecks() {
    const box = document.getElementById("date-problem");
    if (!box) return;
    const input = (id) => document.getElementById(id);
    const long = (iso) => new Date(iso + "T12:00:00Z").toLocaleDateString(box.dataset.lang,
      { dateStyle: "long", timeZone: "UTC" });
    const nextYear = (iso) => {
      const later = String(Number(iso.slice(0, 4)) + 1) + iso.slice(4);
      return later >= box.dataset.today && !iso.endsWith("-02-29") ? later : null;
    };
    const say = (key, day, other) => box.dataset[key].replace("{day}", long(day))
      .replace("{other}", other ? long(other) : "");
    function problem() {
      const today = box.dataset.today;
      const [action, closes, del] = ["action_date", "closes", "delete_after"].map((id) => input(id).value);
      if (!action || !closes || !del) return null;
      if (action < today) return ["action_date", say("actionPast", action), nextYear(action)];
      if (closes < today) return ["closes", say("closesPast", closes), nextYear(closes)];
      if (closes > action) return ["closes", say("closesAfterAction", closes, action), null];
      if (del < action) return ["delete_after", say("deletedBeforeAction", del, action), null];
      return null;
    }
    function check() {
      const found = problem();
      ["action_date", "closes", "delete_after"].forEach((id) => input(id).removeAttribute("aria-invalid"));
      box.hidden = !found;
      if (!found) return;
      const [id, sentence, suggestion] = found;
      input(id).setAttribute("aria-invalid", "true");
      box.textContent = sentence + (suggestion ? " " + say("didYouMean", suggestion) : "");
    }
    ["action_date", "closes", "delete_after"].forEach((id) => input(id).addEventListener("change", check));
  }

  // A page that follows what others do (the organizers page while someone joins, the joined page
  // until an admin approves): its script asks a small JSON answer of this app for the page's
  // version, and when it changed, fetches the page again as a background request and swaps the
  // watched part in. If the organizer has started filling a form there, nothing is swapped under
  // their hands: a notice offers the changes instead. Without the script, a reload does the same.
  function watchedParts() {
    const first = document.querySelector("[data-watch-url]");
    if (!first) return;
    const notice = document.querySelector("[data-watch-notice]");
    const later = (part) => 1000 * (Number(part.dataset.watchSeconds) || 5);
    function typing(part) {
      const changed = Array.from(part.querySelectorAll("input, textarea, select")).some((f) => {
        if (f.type === "hidden" || f.readOnly) return false;
        if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
        if (f.tagName === "SELECT") {  // none marked selected: the first is, by default
          return f.selectedIndex !== Math.max(0, Array.from(f.options).findIndex((o) => o.defaultSelected));
        }
        return f.value !== f.defaultValue;
      });
      const active = document.activeElement;
      return changed || (part.contains(active) && active.matches("input:not([type=hidden]):not([readonly]), textarea:not([readonly])"));
    }
    async function swap(part) {
      const page = await fetch(location.pathname, { headers: background });
      if (page.redirected) { location.reload(); return; }
      if (!page.ok) return;
      const doc = new DOMParser().parseFromString(await page.text(), "text/html");
      const fresh = doc.querySelector("[data-watch-url]");
      if (!fresh) return;
      const node = document.importNode(fresh, true);
      part.replaceWith(node);
      copyButtons(node);
    }
    async function check() {
      const part = document.querySelector("[data-watch-url]");
      try {
        const reply = await fetch(part.dataset.watchUrl, { headers: background });
        if (reply.redirected) { location.reload(); return; }
        if (reply.ok) {
          const now = (await reply.json()).version;
          if (now !== part.dataset.watchVersion) {
            if (typing(part)) {
              if (notice) notice.hidden = false;
            } else {
              await swap(part);
            }
          }
        }
      } catch (e) {
        // the app is not answering (stopped?): keep what is shown and try again later
      }
      setTimeout(check, later(document.querySelector("[data-watch-url]")));
    }
    setTimeout(check, later(first));
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
  }

  copyButtons();
  suggestion();
  strengthMeter();
  jobProgress();
  confirmations();
  liveParts();
  watchedParts();
  printButtons();
  dateChecks();
})();
