// clinqa rating pages: retry what the server refused because the database was busy (503 with Retry-After).
// - an autosave or "Save draft" (htmx) is sent again after Retry-After seconds, up to MAX_TRIES times;
// - a submit answered 503 comes back as the item page with the choices kept and data-retry-after on the form:
//   it is submitted again after that many seconds.
(function () {
  var MAX_TRIES = 10, tries = new WeakMap();
  function seconds(value) { var s = parseFloat(value); return isFinite(s) && s > 0 ? Math.min(s, 30) : 2; }
  document.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail.elt, xhr = e.detail.xhr;
    if (!xhr || xhr.status !== 503) { tries.delete(elt); return; }
    var n = (tries.get(elt) || 0) + 1;
    if (n > MAX_TRIES) { tries.delete(elt); return; }
    tries.set(elt, n);
    var status = document.getElementById("draft-status");
    if (status) status.textContent = "The database is busy; saving again shortly (try " + n + ")...";
    setTimeout(function () {
      htmx.trigger(elt, (elt.getAttribute("hx-trigger") || "click").split(/[ ,]/)[0]);
    }, 1000 * seconds(xhr.getResponseHeader("Retry-After")));
  });
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-retry-after]");
    if (form) setTimeout(function () { form.requestSubmit(); }, 1000 * seconds(form.dataset.retryAfter));
  });
})();
