/* Keeps the progress bars of running jobs current: polls each run's progress URL every
   two seconds, updates its bar, percentage and estimated end, and reloads the page once
   a run has finished so its counts and status show. */
(function () {
  "use strict";

  var bars = Array.prototype.slice.call(document.querySelectorAll(".job-progress"));
  if (!bars.length) {
    return;
  }
  var locale = document.documentElement.lang || "zh-CN";

  function when(iso) {
    return new Date(iso).toLocaleTimeString(locale, {
      timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit"
    });
  }

  function poll() {
    var pending = bars.map(function (bar) {
      return fetch(bar.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (run) {
          if (run.status !== "running") {
            return true;
          }
          var fraction = run.progress || 0;
          bar.querySelector("progress").value = fraction;
          bar.querySelector(".job-progress-figure").textContent = Math.round(fraction * 100) + "%";
          if (run.eta) {
            bar.querySelector(".job-progress-eta").textContent =
              bar.dataset.etaLabel.replace("{time}", when(run.eta));
          }
          return false;
        })
        .catch(function () { return false; });
    });
    Promise.all(pending).then(function (finished) {
      if (finished.some(Boolean)) {
        window.location.reload();
      } else {
        window.setTimeout(poll, 2000);
      }
    });
  }

  window.setTimeout(poll, 2000);
})();
