// Carebridge's own small script. Every page works without it; it only adds:
//  - "/" jumps to the page's search box (UI.md: search is one keystroke away),
//  - a confirmation for destructive buttons marked data-confirm,
//  - focus on the first form alert so screen readers announce the errors,
//  - partial updates: a link or form with data-swap="#target" replaces that element with
//    the same element from the fetched page, and data-refresh="SECONDS" reloads it in place.
//  - a panel that scrolls sideways (a wide table on a narrow screen) can be focused, so it
//    can be scrolled with the arrow keys too.
//  - type-ahead: an input marked data-combobox="URL" becomes an ARIA combobox whose options
//    come from URL?q=... (an HTML fragment of role=option items); arrow keys move, Enter
//    chooses, Escape closes. Without the script it is a plain text field.
//  - a file input marked data-max-bytes refuses a file that is too large before upload.
(function () {
  "use strict";

  function isTyping(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || isTyping(document.activeElement)) return;
    var search = document.querySelector("[data-search], input[type=search]");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  async function swap(url, selector, options) {
    var response = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    if (response.redirected && /\/login/.test(response.url)) {
      window.location.assign(response.url);
      return;
    }
    var html = await response.text();
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector(selector);
    var current = document.querySelector(selector);
    if (fresh && current) replace(current, fresh);
  }

  // Replace an element's parts, but give a live region (aria-live) its new words in place:
  // screen readers announce a change to a region they know, not a region swapped in.
  function replace(current, fresh) {
    var oldKids = Array.prototype.slice.call(current.children);
    var newKids = Array.prototype.slice.call(fresh.children);
    var same = oldKids.length === newKids.length && oldKids.every(function (kid, i) {
      return kid.hasAttribute("aria-live") === newKids[i].hasAttribute("aria-live");
    });
    if (!same || !current.querySelector(":scope > [aria-live]")) {
      current.replaceWith(fresh);
      return;
    }
    oldKids.forEach(function (kid, i) {
      var next = newKids[i];
      if (!kid.hasAttribute("aria-live")) kid.replaceWith(next);
      else if (kid.innerHTML !== next.innerHTML) kid.innerHTML = next.innerHTML;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var target = form.getAttribute("data-swap");
    if (!target || event.defaultPrevented) return;
    event.preventDefault();
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var data = new FormData(form);
    if (method === "GET") {
      var url = form.action.split("?")[0] + "?" + new URLSearchParams(data).toString();
      swap(url, target).then(function () { history.replaceState(null, "", url); });
    } else {
      swap(form.action, target, { method: method, body: data });
    }
  });

  function startRefresh(el) {
    var seconds = parseInt(el.getAttribute("data-refresh"), 10);
    if (!seconds || seconds < 5) return;
    window.setInterval(function () {
      if (document.visibilityState !== "visible") return;
      // Marked as background so polling does not keep an idle session signed in.
      swap(window.location.href, "#" + el.id, { headers: { "X-Carebridge-Background": "1" } });
    }, seconds * 1000);
  }

  function markScrollers() {
    document.querySelectorAll(".panel").forEach(function (panel) {
      var scrolls = panel.scrollWidth > panel.clientWidth;
      if (scrolls && !panel.hasAttribute("tabindex")) {
        panel.setAttribute("tabindex", "0");
        panel.setAttribute("data-scroller", "");
      } else if (!scrolls && panel.hasAttribute("data-scroller")) {
        panel.removeAttribute("tabindex");
        panel.removeAttribute("data-scroller");
      }
    });
  }

  var resizing = false;
  window.addEventListener("resize", function () {
    if (resizing) return;
    resizing = true;
    window.requestAnimationFrame(function () {
      resizing = false;
      markScrollers();
    });
  });

  // --- type-ahead combobox (ARIA 1.2 pattern: focus stays in the input) ---------------

  var comboboxCount = 0;

  function combobox(input) {
    var url = input.getAttribute("data-combobox");
    var listId = (input.id || "combobox-" + ++comboboxCount) + "-listbox";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "combobox-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("data-combobox-label") || "Suggestions");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "combobox-status";
    status.id = listId + "-status";
    status.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    var timer = null;
    var asked = 0;
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = options();
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function choose(item) {
      input.value = item.getAttribute("data-value");
      status.textContent = item.getAttribute("data-value") + ": " + item.getAttribute("data-label");
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    async function suggest() {
      var query = input.value.trim();
      var mine = ++asked;
      if (query.length < 2) {
        close();
        return;
      }
      var response = await fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" });
      if (mine !== asked || !response.ok) return;
      var doc = new DOMParser().parseFromString(await response.text(), "text/html");
      var found = doc.querySelectorAll('[role="option"]');
      list.replaceChildren();
      found.forEach(function (option, i) {
        var item = document.importNode(option, true);
        item.id = listId + "-" + i;
        list.appendChild(item);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = found.length + (found.length === 1 ? " code matches" : " codes match") + "; use the arrow keys to choose.";
      } else {
        close();
        status.textContent = "No code matches “" + query + "”.";
      }
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 150);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) {
          if (options().length) {
            list.hidden = false;
            input.setAttribute("aria-expanded", "true");
          } else {
            suggest();
            return;
          }
        }
        highlight(active < 0 && event.key === "ArrowUp" ? -1 : active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault(); // choose, do not submit
        choose(options()[active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep focus in the input
    });
    list.addEventListener("click", function (event) {
      var item = event.target.closest('[role="option"]');
      if (item) choose(item);
    });
    input.addEventListener("blur", close);
  }

  function limitFileSize(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var tooBig = file && max && file.size > max;
      input.setCustomValidity(tooBig ? "This file is larger than " + (max / 1048576).toFixed(1) + " MB; scan it at a lower resolution or as a PDF." : "");
      if (tooBig) input.reportValidity();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector(".form-alert[tabindex]");
    if (alert) alert.focus();
    document.querySelectorAll("input[data-combobox]").forEach(combobox);
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(limitFileSize);
    document.querySelectorAll("[data-refresh][id]").forEach(startRefresh);
    markScrollers();
  });
})();
