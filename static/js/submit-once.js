// A form that saves something is sent once: after the first click its buttons are disabled,
// so a second click on a slow connection does not post it again. The server does not rely
// on this (each such form carries a one-time token); it spares the user a confusing wait.
(function () {
  "use strict";

  var COPY = "data-submit-once-copy";

  // A disabled button is left out of what the form sends, so the pressed one's name and
  // value ("Save draft" or "Submit") travel in a hidden copy.
  function keepPressed(form, button) {
    if (!button || !button.name) {
      return;
    }
    var copy = document.createElement("input");
    copy.type = "hidden";
    copy.name = button.name;
    copy.value = button.value;
    copy.setAttribute(COPY, "");
    form.appendChild(copy);
  }

  function buttons(form) {
    return form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") {
      return;
    }
    if (form.hasAttribute("data-sending")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sending", "");
    keepPressed(form, event.submitter);
    buttons(form).forEach(function (button) {
      button.disabled = true;
    });
  });

  // Back to a page kept in the browser's memory: its forms can be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      form.removeAttribute("data-sending");
      form.querySelectorAll("[" + COPY + "]").forEach(function (copy) {
        copy.remove();
      });
      buttons(form).forEach(function (button) {
        button.disabled = false;
      });
    });
  });
})();
