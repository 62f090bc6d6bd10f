// Carebridge's own small script. Every page works without it; it only adds:
//  - "/" jumps to the page's search box (UI.md: search is one keystroke away),
//  - a confirmation for destructive buttons marked data-confirm,
//  - focus on the first form alert so screen readers announce the errors,
//  - partial updates: a link or form with data-swap="#target" replaces that element with
//    the same element from the fetched page, and data-refresh="SECONDS" reloads it in place.
//  - a panel that scrolls sideways (a wide table on a narrow screen) can be focused, so it
//    can be scrolled with the arrow keys too.
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
    if (fresh && current) current.replaceWith(fresh);
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

  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector(".form-alert[tabindex]");
    if (alert) alert.focus();
    document.querySelectorAll("[data-refresh][id]").forEach(startRefresh);
    markScrollers();
  });
})();
