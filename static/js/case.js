// The case page on a phone: the long sections (orders, payments, reminders) start folded, so the
// summary and the timeline are within reach; each opens with a tap on its heading. Without this
// script every section simply stays open.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.matchMedia("(max-width: 760px)").matches) return;
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (section) {
    section.open = false;
  });
});
