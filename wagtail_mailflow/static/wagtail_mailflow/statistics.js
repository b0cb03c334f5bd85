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

  /* A popover with every status of the day when a day of the chart is hovered or focused. */
  function initPopovers(chart) {
    var open = null;
    function hide() {
      if (open) {
        open.hidden = true;
        open = null;
      }
    }
    function show(band) {
      var popover = chart.querySelector('[data-day-popover="' + band.dataset.dayIndex + '"]');
      if (!popover || popover === open) {
        return;
      }
      hide();
      var box = band.getBoundingClientRect();
      var frame = chart.getBoundingClientRect();
      popover.hidden = false;
      var left = box.left - frame.left + box.width / 2 - popover.offsetWidth / 2;
      left = Math.max(0, Math.min(left, frame.width - popover.offsetWidth));
      popover.style.left = left + "px";
      popover.style.top = box.top - frame.top + "px";
      open = popover;
    }
    chart.querySelectorAll("[data-day-index]").forEach(function (band) {
      // The popover replaces the browser's own tooltip.
      var title = band.querySelector("title");
      if (title) {
        band.setAttribute("aria-label", title.textContent);
        title.remove();
      }
      band.addEventListener("mouseenter", function () { show(band); });
      band.addEventListener("focus", function () { show(band); });
      band.addEventListener("mouseleave", hide);
      band.addEventListener("blur", hide);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        hide();
      }
    });
  }

  function init() {
    var chart = document.querySelector("[data-mailflow-chart]");
    if (!chart) {
      return;
    }
    initPopovers(chart);
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
