// dj-stripe's webhook endpoint delete page: show its "Loading..." spinner once a link is followed
// or the form sent, as deleting waits for Stripe. A file, not inline: the CSP runs no inline script.
document.addEventListener("DOMContentLoaded", () => {
  const spinner = document.getElementById("div_spinner");
  if (!spinner) return;
  const show = () => {
    spinner.hidden = false;
  };
  document.querySelectorAll("a").forEach((link) => link.addEventListener("click", show));
  document.querySelectorAll("form").forEach((form) => form.addEventListener("submit", show));
});
