// Follows the link to the identity provider at once; without script the person clicks it.
(function () {
  var link = document.getElementById("continue-link");
  if (link) { window.location.replace(link.href); }
})();
