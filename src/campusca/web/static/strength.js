// Progressive enhancement of /my/smime: the password meter as the person types. The page works without it
// (the server judges the password when the form is sent); this only asks the same judge earlier.
(function () {
  "use strict";
  var form = document.querySelector("form[data-strength]");
  if (!form || !window.fetch) { return; }
  var field = form.querySelector("#password");
  var live = form.querySelector("#live-strength");
  var meter = live.querySelector("meter");
  var label = live.querySelector("strong");
  var csrf = form.querySelector("input[name=csrf]").value;
  var judged = form.querySelector("#strength"); // the server's meter for the refused password, now stale
  var timer = null;
  var asked = 0;
  function ask() {
    var number = ++asked;
    if (!field.value) { live.hidden = true; return; }
    var body = new URLSearchParams({ csrf: csrf, password: field.value });
    fetch(form.getAttribute("data-strength"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (verdict) {
        if (!verdict || number !== asked) { return; }
        meter.value = verdict.score;
        meter.textContent = verdict.score + " of 4";
        label.textContent = verdict.label;
        live.hidden = false;
      })
      .catch(function () { live.hidden = true; });
  }
  field.addEventListener("input", function () {
    if (judged) { judged.hidden = true; }
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 300);
  });
})();
