/* Statistics chart: show or hide a status's series when its checkbox changes.
 * Without this script the checkboxes still work: the form reloads the page with the chosen statuses. */
(function () {
  "use strict";

  function setShown(chart, key, shown) {
    chart.querySelectorAll('[data-series="' + key + '"]').forEach(function (node) {
      if (node instanceof SVGElement) {
        if (shown) {
          node.removeAttribute("display");
        } else {
          node.setAttribute("display", "none");
        }
      } else {
        node.hidden = !shown;
      }
    });
  }

  function init() {
    var chart = document.querySelector("[data-mailflow-chart]");
    if (!chart) {
      return;
    }
    document.querySelectorAll("input[data-mailflow-series]").forEach(function (input) {
      setShown(chart, input.dataset.mailflowSeries, input.checked);
      input.addEventListener("change", function () {
        setShown(chart, input.dataset.mailflowSeries, input.checked);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
