/* Workflow editor helpers: live eligible count, date mode fields, "Send immediately". */
(function () {
  'use strict';

  function wrapperOf(element) {
    return element.closest('[data-field-wrapper]') || element.closest('.w-field__wrapper') || element;
  }

  function updateEligibleCount() {
    var target = document.querySelector('[data-mailflow-eligible-count]');
    var list = document.getElementById('id_contact_list');
    if (!target || !list) return;
    var segment = document.getElementById('id_segment');
    var params = new URLSearchParams({ contact_list: list.value || '' });
    if (segment && segment.value) params.set('segment', segment.value);
    fetch(target.dataset.url + '?' + params.toString(), { credentials: 'same-origin' })
      .then(function (response) { return response.json(); })
      .then(function (data) { target.textContent = data.text || data.error || ''; })
      .catch(function () { /* keep the last known count */ });
  }

  function updateDateMode() {
    var checked = document.querySelector('input[name="date_mode"]:checked, select[name="date_mode"]');
    if (!checked) return;
    var mode = checked.value;
    document.querySelectorAll('[data-mailflow-date-mode]').forEach(function (panel) {
      panel.hidden = panel.dataset.mailflowDateMode !== mode;
    });
  }

  function updateImmediate(input) {
    var wrapper = wrapperOf(input);
    var note = wrapper.querySelector('[data-mailflow-immediate]');
    if (!note) {
      note = document.createElement('span');
      note.className = 'w-status w-status--primary';
      note.setAttribute('data-mailflow-immediate', '');
      var source = document.querySelector('[data-mailflow-eligible-count]');
      note.textContent = (source && source.dataset.immediateLabel) || 'Send immediately';
      input.insertAdjacentElement('afterend', note);
    }
    note.hidden = String(input.value).trim() !== '0';
  }

  function bindDelays() {
    document.querySelectorAll('input[name$="-delay_amount"]').forEach(function (input) {
      if (input.dataset.mailflowBound) return;
      input.dataset.mailflowBound = '1';
      input.addEventListener('input', function () { updateImmediate(input); });
      updateImmediate(input);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    ['id_contact_list', 'id_segment'].forEach(function (id) {
      var element = document.getElementById(id);
      if (element) element.addEventListener('change', updateEligibleCount);
    });
    document.querySelectorAll('[name="date_mode"]').forEach(function (element) {
      element.addEventListener('change', updateDateMode);
    });
    updateDateMode();
    bindDelays();
    // New emails added with the InlinePanel's "Add" button.
    new MutationObserver(bindDelays).observe(document.body, { childList: true, subtree: true });
  });
})();
