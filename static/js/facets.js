// Progressive enhancement: on a wide screen the search filters start open. Without this script
// they stay behind their summary, which works too.
(function () {
  var wide = window.matchMedia("(min-width: 48rem)");
  var facets = document.getElementById("filters");
  if (!facets) return;
  function sync() { if (wide.matches) facets.open = true; }
  sync();
  if (wide.addEventListener) wide.addEventListener("change", sync);
})();
