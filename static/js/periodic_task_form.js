/* django-celery-beat's periodic task form (admin), from a file instead of its inline script,
   which the content security policy blocks: show the chosen crontab in words under the field. */
"use strict";
(function () {
  const data = document.getElementById("readable-crontabs");
  const crontab = document.getElementById("id_crontab");
  if (!data || !crontab) {
    return;
  }
  const readable = JSON.parse(data.textContent);
  const help = document.querySelector(".field-crontab .help");
  const original = help ? help.cloneNode(true) : null;
  for (const row of document.querySelectorAll(".field-crontab_translation")) {
    row.style.display = "none";  // through the CSSOM, which the policy allows
  }
  crontab.addEventListener("change", function () {
    if (!help) {
      return;
    }
    help.replaceChildren(...original.cloneNode(true).childNodes);
    const words = readable[crontab.value];
    if (words) {
      help.append(document.createElement("br"), "Translation: " + words);
    }
  });
})();
