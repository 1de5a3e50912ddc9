// The header's menu on a narrow screen: collapsed behind one button, opened and closed by it.
// Without this script the menu simply stays open (the stylesheet collapses it only for `.collapsible`).
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.querySelector(".topbar .menu-toggle");
  if (!toggle) return;
  var topbar = toggle.closest(".topbar");
  topbar.classList.add("collapsible");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = topbar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
