// The contact form's promise fields (amount, date) are shown only with the outcome "promise made".
// Without this script they are always shown, with a legend saying when they apply. One listener on
// the document serves the form wherever htmx puts it (the contacts page, the case page's action).
(function () {
  if (window.bnplContactForm) return;
  window.bnplContactForm = true;

  function sync(form) {
    var outcome = form.querySelector("select[name=outcome]");
    var fields = form.querySelector(".promise-fields");
    if (!outcome || !fields) return;
    // Hidden and disabled together: a hidden amount is not sent with another outcome.
    fields.hidden = fields.disabled = outcome.value !== "promise_made";
  }

  function syncAll(root) {
    (root || document).querySelectorAll("form").forEach(sync);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[name=outcome]")) {
      sync(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { syncAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { syncAll(event.target); });
  syncAll(document);
})();
