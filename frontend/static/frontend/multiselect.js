// A searchable multi-select, as progressive enhancement of <select multiple data-searchable>: a filter
// box above the list (matches any part of an option's or its group's text, English or Chinese), a click
// picks or unpicks one option without Ctrl, and a line under it names what is picked. Without
// JavaScript the plain list works as before (Ctrl-click). Labels come from the select's data attributes.
(function () {
  "use strict";

  function enhance(select) {
    var filter = document.createElement("input");
    filter.type = "search";
    filter.id = select.id + "-filter";
    filter.className = "multiselect-filter";
    filter.setAttribute("autocomplete", "off");
    filter.setAttribute("aria-controls", select.id);
    var label = document.createElement("label");
    label.htmlFor = filter.id;
    label.textContent = select.dataset.filterLabel || "Filter";
    var chosen = document.createElement("p");
    chosen.className = "small multiselect-chosen";
    chosen.id = select.id + "-chosen";
    chosen.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(filter, select);
    select.parentNode.insertBefore(chosen, select.nextSibling);
    select.setAttribute("aria-describedby", chosen.id);
    var hint = select.parentNode.querySelector(".multiselect-hint");
    if (hint) {
      hint.hidden = true;
    }

    function showChosen() {
      var names = Array.prototype.filter
        .call(select.options, function (o) { return o.selected; })
        .map(function (o) { return o.textContent.split(" — ")[0]; });
      chosen.textContent = (select.dataset.chosenLabel || "Picked:") + " " + (names.length ? names.join(", ") : "—");
    }

    function applyFilter() {
      var words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var groupText = (group.label || "").toLowerCase();
        var shown = 0;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var text = groupText + " " + option.textContent.toLowerCase();
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          option.hidden = !(match || option.selected);
          if (!option.hidden) {
            shown += 1;
          }
        });
        group.hidden = shown === 0;
      });
    }

    select.addEventListener("mousedown", function (event) {
      var option = event.target;
      if (option.tagName !== "OPTION" || event.ctrlKey || event.metaKey || event.shiftKey) {
        return;
      }
      event.preventDefault();
      option.selected = !option.selected;
      select.focus();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    select.addEventListener("change", showChosen);
    filter.addEventListener("input", applyFilter);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // filtering, not submitting the search
      }
    });
    showChosen();
  }

  document.querySelectorAll("select[multiple][data-searchable]").forEach(enhance);
})();
