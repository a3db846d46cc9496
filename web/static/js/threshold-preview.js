/* Recomputes the threshold backtest preview while the form is edited: posts the form
   (with its CSRF token) to the preview URL and shows the returned table. */
(function () {
  "use strict";

  var form = document.getElementById("threshold-form");
  var target = document.getElementById("threshold-preview");
  if (!form || !target) {
    return;
  }
  var timer = null;
  var sequence = 0;

  function refresh() {
    var mine = ++sequence;
    target.setAttribute("aria-busy", "true");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine === sequence) {
          target.innerHTML = html;
          target.removeAttribute("aria-busy");
        }
      });
  }

  form.addEventListener("input", function (event) {
    if (event.target.name === "reason") {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  });
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      window.clearTimeout(timer);
      refresh();
    }
  });
})();
