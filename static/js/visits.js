// Home visits: the check-in and check-out buttons send the phone's position (Geolocation API).
// A form marked data-geolocate asks the browser once; a refusal, an error or no Geolocation at
// all is sent as "refused", which the visit records as such. Without this script the form posts
// no position and the page says so.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-geolocate]").forEach(function (form) {
    var asked = false;
    var status = form.querySelector(".geo-status");
    function send() {
      asked = true;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      form.submit();
    }
    function refused() {
      form.elements.refused.value = "1";
      if (status) status.textContent = status.dataset.refused || "";
      send();
    }
    form.addEventListener("submit", function (event) {
      if (asked) return;
      event.preventDefault();
      if (!("geolocation" in navigator)) { refused(); return; }
      if (status) status.textContent = status.dataset.asking || "";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          form.elements.accuracy.value = Math.round(position.coords.accuracy * 10) / 10;
          send();
        },
        refused,
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  });
});
