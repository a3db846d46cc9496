/* Recomputes the threshold backtest preview while the form is edited: posts the form
   (with its CSRF token) to the preview URL and shows the returned table. The preview's
   "use as blue cut-off" button copies the proposed cut-offs (its data-blue ... data-clear)
   into the form (nothing is saved) and the preview follows. */
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
  target.addEventListener("click", function (event) {
    var button = event.target.closest("#apply-proposal");
    if (!button) {
      return;
    }
    ["blue", "yellow", "orange", "red", "clear"].forEach(function (name) {
      if (button.dataset[name] !== undefined && form.elements[name]) {
        form.elements[name].value = button.dataset[name];
      }
    });
    form.elements.blue.focus();
    window.clearTimeout(timer);
    refresh();
  });
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      window.clearTimeout(timer);
      refresh();
    }
  });
})();
