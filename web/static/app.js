// Countersign web app: live updates by polling, and the keyboard. Plain JavaScript, no build step.
(function () {
  "use strict";
  var POLL_MS = 2000;

  // Any element with data-live="<url>" is refreshed from that URL (an HTML fragment) while the page is open,
  // so a decision made in Slack shows here without a reload.
  function live(el) {
    var url = el.getAttribute("data-live"), last = el.innerHTML.trim();
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (r) {
        if (!r.ok) { throw new Error("stop"); }
        return r.text();
      }).then(function (html) {
        if (html.trim() !== last) {
          last = html.trim();
          el.innerHTML = html;
          settle();
        }
        setTimeout(tick, POLL_MS);
      }).catch(function () { setTimeout(tick, POLL_MS * 5); });
    }
    setTimeout(tick, POLL_MS);
  }

  // Once a draft is decided (here or elsewhere), its Decide forms go away.
  function settle() {
    var panel = document.querySelector("#status [data-status]");
    if (panel && panel.getAttribute("data-status") !== "pending") {
      var decide = document.getElementById("decide");
      if (decide) { decide.remove(); }
    }
    select(Math.min(current, items().length - 1), false);
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("#inbox .item")); }
  var current = 0;
  function select(i, scroll) {
    var all = items();
    all.forEach(function (el) { el.classList.remove("selected"); });
    if (!all.length || i < 0) { return; }
    current = i;
    all[i].classList.add("selected");
    if (scroll) { all[i].scrollIntoView({block: "nearest"}); }
  }

  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function keyed(key) { return document.querySelector('[data-key="' + key + '"]'); }

  document.addEventListener("keydown", function (e) {
    if (typing(e)) {
      if (e.key === "Escape") { e.target.blur(); }
      // Ctrl+Enter (Cmd+Enter) sends the edited text, as in most editors' "submit" shortcut.
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
        e.preventDefault();
        e.target.form.requestSubmit();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var inbox = items().length > 0, key = e.key;
    if (inbox && (key === "j" || key === "k")) {
      select(Math.max(0, Math.min(items().length - 1, current + (key === "j" ? 1 : -1))), true);
    } else if (inbox && (key === "o" || key === "Enter" || key === "a" || key === "e" || key === "r")) {
      var hash = {a: "#approve", e: "#edit", r: "#reject"}[key] || "";
      window.location.href = items()[current].getAttribute("data-href") + hash;
    } else if (key === "a" || key === "j" || key === "k") {
      var el = keyed(key);
      if (!el) { return; }
      if (el.tagName === "A") { window.location.href = el.href; } else { el.closest("form").requestSubmit(el); }
    } else if (key === "e" || key === "r") {
      var field = keyed(key);
      if (field) { field.focus(); field.scrollIntoView({block: "center"}); }
    } else {
      return;
    }
    e.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
    select(0, false);
    var hash = window.location.hash;
    if (hash === "#edit" || hash === "#reject") {
      var field = keyed(hash === "#edit" ? "e" : "r");
      if (field) { field.focus(); }
    } else if (hash === "#approve") {
      var button = document.getElementById("approve-form");
      if (button) { button.scrollIntoView({block: "center"}); button.querySelector("button").focus(); }
    }
  });
})();
