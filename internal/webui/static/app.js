// Two things only, and the pages work without them: live progress of a
// sending edition (Server-Sent Events) and the live preview of a draft.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function followProgress(box) {
    if (!window.EventSource) return;
    var src = new EventSource(box.getAttribute("data-progress"));
    src.addEventListener("progress", function (ev) {
      var p = JSON.parse(ev.data);
      var bar = box.querySelector("progress");
      if (bar) bar.value = p.percent;
      var pct = box.querySelector(".pct");
      if (pct) pct.textContent = p.percent + " %";
      box.setAttribute("data-state", p.state);
      box.setAttribute("data-percent", p.percent);
      Object.keys(p.counts).forEach(function (k) {
        var dd = box.querySelector('[data-count="' + k + '"]');
        if (dd) dd.textContent = p.counts[k];
      });
      var badge = document.getElementById("edition-state");
      if (badge && box.hasAttribute("data-labels")) {
        var labels = JSON.parse(box.getAttribute("data-labels"));
        if (labels[p.state]) { badge.textContent = labels[p.state]; badge.className = "state state-" + p.state; }
      }
      if (p.state === "sent" || p.state === "cancelled") {
        var controls = document.getElementById("controls");
        if (controls) controls.hidden = true;
        src.close();
      }
    });
    src.onerror = function () { src.close(); };
  }

  function livePreview(form) {
    var url = form.getAttribute("data-render");
    var html = document.getElementById("frame-html");
    var phone = document.getElementById("frame-phone");
    var plain = document.getElementById("plain");
    var list = document.getElementById("finding-list");
    var timer = null, seq = 0;
    function refresh() {
      var mine = ++seq;
      fetch(url, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (mine !== seq || d.error) return;
          html.removeAttribute("src"); html.srcdoc = d.html;
          phone.removeAttribute("src"); phone.srcdoc = d.html;
          plain.textContent = d.text;
          if (list) {
            list.textContent = "";
            d.findings.forEach(function (f) {
              var li = document.createElement("li");
              li.className = "warn";
              li.textContent = f.Where + ": " + f.Fix;
              list.appendChild(li);
            });
          }
        })
        .catch(function () {});
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress]").forEach(followProgress);
    var draft = document.getElementById("draft");
    if (draft) livePreview(draft);
  });
})();
