/* The pages of pyclowder-jobs, live: updates arrive as Server-Sent Events from the address in
   <body data-live>, and replace the part of the page they carry (no reload).  The log view's
   level filter hides lines with a class, so that lines arriving later are filtered too. */
(function () {
  "use strict";
  var address = document.body.getAttribute("data-live");
  var state = document.getElementById("live-state");
  var table = document.getElementById("log-table");
  var select = document.getElementById("level");

  function show(text, css) {
    if (state) {
      state.hidden = false;
      state.textContent = text;
      state.className = "live-state " + css;
    }
  }

  function countLines() {
    var count = document.getElementById("log-count");
    var lines = document.getElementById("log-lines");
    var none = document.getElementById("no-logs");
    if (count && lines) {
      count.textContent = lines.rows.length + (lines.rows.length === 1 ? " line" : " lines");
    }
    if (none && lines) {
      none.hidden = lines.rows.length > 0;
    }
  }

  if (select && table) {
    select.addEventListener("change", function () {
      table.className = table.className.replace(/\s*min-[a-z]+/g, "") + (select.value ? " min-" + select.value : "");
      var url = new URL(window.location.href);
      if (select.value) {
        url.searchParams.set("level", select.value);
      } else {
        url.searchParams.delete("level");
      }
      window.history.replaceState(null, "", url.toString());
    });
  }

  if (!address || !window.EventSource) {
    return;
  }
  var source = new EventSource(address);
  source.onopen = function () { show("live", "on"); };
  source.onerror = function () { show("reconnecting\u2026", "off"); };
  source.addEventListener("jobs", function (event) {
    document.getElementById("jobs").innerHTML = JSON.parse(event.data).html;
  });
  source.addEventListener("job", function (event) {
    document.getElementById("job").innerHTML = JSON.parse(event.data).html;
  });
  source.addEventListener("logs", function (event) {
    var lines = document.getElementById("log-lines");
    if (!lines) {
      return;
    }
    var before = lines.rows.length;
    lines.insertAdjacentHTML("beforeend", JSON.parse(event.data).html);
    for (var index = before; index < lines.rows.length; index += 1) {
      lines.rows[index].classList.add("fresh");
    }
    var limit = Number(table.getAttribute("data-limit")) || 2000;
    while (lines.rows.length > limit) {
      lines.deleteRow(0);
    }
    countLines();
  });
}());
