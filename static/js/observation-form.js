// The rubric forms (an observation, a calibration case, its master code): a live summary
// and count steppers, without any framework.
// Scores are computed on the server (observations:preview); no formula lives here.
(function () {
  "use strict";

  var form = document.getElementById("observation-form");
  if (!form) {
    return;
  }
  var summary = document.getElementById("summary");
  var timer = null;
  var latest = 0;

  function refresh() {
    var ticket = ++latest;
    var data = new FormData(form);
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("preview answered " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        // An older answer arriving late must not overwrite a newer one.
        if (ticket === latest) {
          summary.innerHTML = html;
          summary.dataset.state = "fresh";
        }
      })
      .catch(function () {
        if (ticket === latest) {
          summary.dataset.state = "stale";
        }
      });
  }

  function schedule() {
    if (!summary) {
      return; // a form with no summary panel (a master code): the steppers only
    }
    window.clearTimeout(timer);
    summary.dataset.state = "pending";
    timer = window.setTimeout(refresh, 250);
  }

  function step(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    var value = parseInt(input.value, 10);
    input.value = Math.max(0, (isNaN(value) ? 0 : value) + Number(button.dataset.step));
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-step]");
    if (button) {
      step(button);
    }
  });

  // Switching rubric reloads the page with ?rubric=; the button is only for no-script use.
  var switcher = document.getElementById("rubric-choice");
  if (switcher) {
    switcher.form.querySelector("button[type=submit]").hidden = true;
    switcher.addEventListener("change", function () {
      switcher.form.submit();
    });
  }
})();
