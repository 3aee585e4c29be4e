/* Neraca portal behaviour. CSP-safe: no eval, no inline handlers, no injected <script>/<style>.
   Loaded with `defer` after htmx, so the DOM is parsed when this runs. */
(function () {
  "use strict";
  var TOAST_MS = 5000;
  var LEVELS = { success: 1, error: 1, info: 1, warning: 1 };
  var ICONS = {
    success: '<circle cx="12" cy="12" r="9"/><path d="m8 12.5 3 3 5-6"/>',
    error: '<circle cx="12" cy="12" r="9"/><path d="m9 9 6 6M15 9l-6 6"/>',
    warning: '<path d="M10.3 4.3 2.6 18a2 2 0 0 0 1.7 3h15.4a2 2 0 0 0 1.7-3L13.7 4.3a2 2 0 0 0-3.4 0z"/><path d="M12 9v4M12 17h.01"/>',
    info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8h.01"/>'
  };

  // The meta tag already sets these; repeat them so a missing or altered tag cannot loosen them.
  // attributesToSettle without "style": htmx's settle step copies that attribute from the old element with
  // the same id onto the new one via setAttribute("style", …), which the CSP (no 'unsafe-inline') blocks —
  // any element that ever had a style touched through the CSSOM (style="" left behind) made each boosted
  // navigation log "Applying inline style violates … style-src" errors.
  if (window.htmx && htmx.config) {
    var c = htmx.config;
    c.selfRequestsOnly = true; c.allowEval = false; c.allowScriptTags = false;
    c.historyCacheSize = 0; c.includeIndicatorStyles = false;
    c.attributesToSettle = ["class", "width", "height"];
  }

  function svg(paths, cls) {
    return '<svg class="icon ' + cls + '" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor"' +
      ' stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">' + paths + "</svg>";
  }

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 220);
  }

  function scheduleDismiss(toast) {
    var timer = setTimeout(dismiss, TOAST_MS, toast);
    // Keep it while the pointer is on it, so people can finish reading.
    toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
    toast.addEventListener("mouseleave", function () { timer = setTimeout(dismiss, 2000, toast); });
  }

  function showToast(level, message) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    if (!LEVELS[level]) level = "info";
    var toast = document.createElement("div");
    toast.className = "toast toast--" + level;
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    toast.innerHTML = svg(ICONS[level], "toast__icon");
    var text = document.createElement("p");
    text.className = "toast__message";
    text.textContent = String(message); // never HTML: messages may echo user input
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("data-dismiss-toast", "");
    close.setAttribute("aria-label", box.getAttribute("data-msg-dismiss") || "Dismiss");
    close.innerHTML = svg('<path d="M6 6l12 12M18 6 6 18"/>', "");
    toast.append(text, close);
    box.appendChild(toast);
    scheduleDismiss(toast);
  }
  window.neraca = { toast: showToast };

  // HX-Trigger: {"toast": {"level": "success", "message": "Transfer posted"}}
  document.addEventListener("toast", function (e) {
    var d = e.detail || {};
    showToast(d.level || "info", d.message || d.value);
  });

  // Failed htmx requests would otherwise fail silently.
  function msg(name) { var box = document.getElementById("toasts"); return box && box.getAttribute("data-msg-" + name); }
  document.addEventListener("htmx:sendError", function () { showToast("error", msg("network")); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    // A response that sets its own toast already explained itself.
    if (!xhr || /"toast"/.test(xhr.getResponseHeader("HX-Trigger") || "")) return;
    if (xhr.status >= 500) showToast("error", msg("server"));
  });

  // Toasts rendered by the server (components/toast.html) also go away on their own.
  function armServerToasts() {
    document.querySelectorAll(".toast[data-autodismiss]").forEach(function (t) {
      t.removeAttribute("data-autodismiss");
      scheduleDismiss(t);
    });
  }
  armServerToasts();
  document.addEventListener("htmx:load", armServerToasts); // also fires for out-of-band swaps

  // Long account dropdowns get a filter box above them (typing narrows the options; the select still
  // posts as before, and without JavaScript it is a plain select).
  var LONG_SELECT = 12;
  function armSearchableSelects() {
    document.querySelectorAll("select.select:not([data-filter-armed])").forEach(function (sel) {
      if (sel.options.length <= LONG_SELECT || sel.disabled) return;
      sel.setAttribute("data-filter-armed", "");
      var box = document.createElement("input");
      box.type = "search";
      box.className = "input select-filter";
      box.setAttribute("aria-label", (msg("filter") || "Filter") + ": " +
        ((sel.labels && sel.labels[0] && sel.labels[0].textContent.trim()) || sel.name));
      box.placeholder = msg("filter") || "Filter";
      box.setAttribute("aria-controls", sel.id);
      box.addEventListener("input", function () {
        var q = box.value.trim().toLowerCase();
        Array.prototype.forEach.call(sel.options, function (o) {
          o.hidden = !!q && o.value !== "" && o.text.toLowerCase().indexOf(q) === -1;
        });
      });
      sel.parentNode.insertBefore(box, sel);
    });
  }
  armSearchableSelects();
  document.addEventListener("htmx:load", armSearchableSelects);

  function copy(btn) {
    var value = btn.getAttribute("data-copy");
    var done = function () {
      btn.classList.add("is-copied");
      setTimeout(function () { btn.classList.remove("is-copied"); }, 1500);
      showToast("success", btn.getAttribute("data-copied-label") || "Copied");
    };
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(value).then(done);
    var ta = document.createElement("textarea"); // plain-http development has no Clipboard API
    ta.value = value;
    ta.className = "sr-only";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); done(); } finally { ta.remove(); }
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var el;
    if ((el = t.closest("[data-close-dialog]"))) {
      var dlg = el.closest("dialog");
      if (dlg) dlg.close();
    } else if ((el = t.closest("[data-open-dialog]"))) {
      var target = document.getElementById(el.getAttribute("data-open-dialog"));
      if (target && !target.open) target.showModal();
    } else if ((el = t.closest("[data-copy]"))) {
      copy(el);
    } else if ((el = t.closest("[data-dismiss-toast]"))) {
      dismiss(el.closest(".toast"));
    } else if (t.tagName === "DIALOG" && t.open) {
      t.close(); // a click on the backdrop lands on the <dialog> itself
    }
    // Close an open user menu when clicking elsewhere.
    document.querySelectorAll("details.user-menu[open]").forEach(function (m) {
      if (!m.contains(t)) m.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (e) {
    var menu = e.key === "Escape" && document.querySelector("details.user-menu[open]");
    if (menu) { menu.removeAttribute("open"); menu.querySelector("summary").focus(); }
    // Escape cancels an open confirmation (ui.confirm) and returns to its button.
    var confirm = e.key === "Escape" && document.querySelector("details.confirm[open]");
    if (confirm) { confirm.removeAttribute("open"); confirm.querySelector("summary").focus(); }
  });

  // Content swapped into a closed <dialog> opens it; [data-close-dialog] in a response closes it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    var dlg = target && target.closest && target.closest("dialog");
    if (dlg && !dlg.open && target.childElementCount > 0) dlg.showModal();
  });
  // HX-Trigger: {"closeDialog": true} closes whatever dialog is open.
  document.addEventListener("closeDialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });
  // Empty the shared #modal when it closes, so stale forms are not shown again.
  document.addEventListener("close", function (e) {
    if (e.target && e.target.id === "modal") {
      var body = document.getElementById("modal-body");
      if (body) body.innerHTML = "";
    }
  }, true);
})();
