// Preselect the browser's own time zone in the sign-up form's zone select, when it is one the
// select offers. Without scripts, or for a zone the list lacks, the hospital's zone stays chosen.
document.querySelectorAll("select[data-browser-time-zone]").forEach(function (select) {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (Array.prototype.some.call(select.options, function (option) { return option.value === zone; })) {
    select.value = zone;
  }
});
