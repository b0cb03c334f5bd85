/* The condition builder: rows of field -> operator -> value kept in step with the JSON
 * textarea the form saves, and the live count of matching contacts.
 *
 * A Stimulus controller registered with Wagtail's application as "mailflow-conditions".
 * Without JavaScript the rows stay hidden and the textarea is edited as JSON.
 */
(function () {
  'use strict';

  var COUNT_DELAY_MS = 300;

  function define(Controller) {
    class ConditionsController extends Controller {
      static targets = [
        'builder',
        'fallback',
        'unreadable',
        'match',
        'rows',
        'row',
        'template',
        'empty',
        'error',
        'list',
        'count',
        'samples',
      ];

      static values = { configId: String, countUrl: String, listField: String };

      connect() {
        this.config = JSON.parse(document.getElementById(this.configIdValue).textContent);
        this.strings = this.config.strings;
        this.fieldTypes = {};
        this.config.fields.forEach((field) => {
          this.fieldTypes[field.name] = field.type;
        });
        this.textarea = this.fallbackTarget.querySelector('textarea');
        this.requests = 0;
        if (!this.unreadableTarget.hidden) {
          // Stored JSON the rows cannot show: it stays editable as JSON.
          return;
        }
        this.builderTarget.hidden = false;
        this.fallbackTarget.hidden = true;
        if (this.textarea.required && ['', '{}'].includes(this.textarea.value.trim())) {
          // "No conditions" is a valid answer to a required field: every contact matches.
          this.textarea.value = JSON.stringify({ match: this.matchTarget.value, conditions: [] });
        }
        this.element.classList.add('mailflow-conditions--ready');
        if (this.listFieldValue) {
          var form = this.element.closest('form');
          this.listInput = form && form.querySelector('[name="' + this.listFieldValue + '"]');
          if (this.listInput) {
            this.onListChange = () => this.count();
            this.listInput.addEventListener('change', this.onListChange);
          }
        }
        this.countNow();
      }

      disconnect() {
        if (this.listInput) this.listInput.removeEventListener('change', this.onListChange);
        clearTimeout(this.timer);
      }

      // -- Actions -----------------------------------------------------------------------------

      add() {
        var row = this.templateTarget.content.firstElementChild.cloneNode(true);
        this.rowsTarget.appendChild(row);
        this.update();
        row.querySelector('[data-role=field]').focus();
      }

      remove(event) {
        event.target.closest('[data-mailflow-conditions-target=row]').remove();
        this.update();
      }

      changeField(event) {
        var row = event.target.closest('[data-mailflow-conditions-target=row]');
        var type = this.typeOf(row);
        var operator = row.querySelector('[data-role=operator]');
        var previous = operator.value;
        operator.replaceChildren(
          ...this.config.operators[type].map((choice) => {
            var option = new Option(choice.label, choice.value, false, choice.value === previous);
            option.dataset.kind = choice.kind;
            return option;
          }),
        );
        this.applyKind(row, true);
        this.update();
      }

      changeOperator(event) {
        this.applyKind(event.target.closest('[data-mailflow-conditions-target=row]'), false);
        this.update();
      }

      update() {
        var spec = {
          match: this.matchTarget.value,
          conditions: this.rowTargets.map((row) => this.serialise(row)),
        };
        this.textarea.value = JSON.stringify(spec);
        // Wagtail's unsaved-changes warning listens to the form's own events.
        this.textarea.dispatchEvent(new Event('change', { bubbles: true }));
        this.emptyTarget.hidden = this.rowTargets.length > 0;
        this.count();
      }

      count() {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.countNow(), COUNT_DELAY_MS);
      }

      // -- Rows --------------------------------------------------------------------------------

      typeOf(row) {
        return this.fieldTypes[row.querySelector('[data-role=field]').value] || 'text';
      }

      kindOf(row) {
        var operator = row.querySelector('[data-role=operator]');
        var option = operator.options[operator.selectedIndex];
        return option ? option.dataset.kind : 'none';
      }

      applyKind(row, fieldChanged) {
        var kind = this.kindOf(row);
        var input = row.querySelector('[data-role=value]');
        var type = kind === 'days' ? 'number' : this.config.inputTypes[this.typeOf(row)];
        if (input.type !== type || fieldChanged) {
          if (input.type !== type) input.value = '';
          input.type = type;
        }
        input.removeAttribute('min');
        input.removeAttribute('step');
        if (kind === 'days') {
          input.min = '0';
          input.step = '1';
        } else if (type === 'number') {
          input.step = 'any';
        }
        input.hidden = kind === 'none';
        if (kind === 'none') input.value = '';
        row.querySelector('[data-role=days]').hidden = kind !== 'days';
      }

      serialise(row) {
        var condition = {
          field: row.querySelector('[data-role=field]').value,
          operator: row.querySelector('[data-role=operator]').value,
        };
        var kind = this.kindOf(row);
        if (kind === 'none') return condition;
        var raw = row.querySelector('[data-role=value]').value;
        var number = raw.trim() === '' ? NaN : Number(raw);
        if (kind === 'days') {
          condition.value = Number.isInteger(number) ? number : raw;
        } else if (this.typeOf(row) === 'number') {
          condition.value = Number.isFinite(number) ? number : raw;
        } else {
          condition.value = raw;
        }
        return condition;
      }

      // -- The live count ----------------------------------------------------------------------

      showErrors(message, position) {
        this.rowTargets.forEach((row, index) => {
          var error = row.querySelector('[data-role=error]');
          var here = message && position === index + 1;
          error.textContent = here ? message : '';
          error.hidden = !here;
          row.classList.toggle('mailflow-condition--error', Boolean(here));
        });
        var general = message && !(position >= 1 && position <= this.rowTargets.length);
        this.errorTarget.textContent = general ? message : '';
        this.errorTarget.hidden = !general;
      }

      showCount(text, contacts) {
        this.countTarget.textContent = text;
        this.samplesTarget.replaceChildren();
        this.samplesTarget.hidden = !(contacts && contacts.length);
        if (this.samplesTarget.hidden) return;
        var title = document.createElement('li');
        title.className = 'mailflow-conditions__samples-title';
        title.textContent = this.strings.samples;
        this.samplesTarget.appendChild(title);
        contacts.forEach((email) => {
          var item = document.createElement('li');
          item.textContent = email;
          this.samplesTarget.appendChild(item);
        });
      }

      countNow() {
        var params = new URLSearchParams({ conditions: this.textarea.value || '{}' });
        var list = this.listInput || (this.hasListTarget ? this.listTarget : null);
        if (list && list.value) params.set('contact_list', list.value);
        if (this.listInput && !this.listInput.value) {
          this.showErrors('');
          this.showCount(this.strings.chooseList);
          return;
        }
        var request = ++this.requests;
        this.countTarget.setAttribute('aria-busy', 'true');
        fetch(this.countUrlValue + '?' + params.toString(), {
          credentials: 'same-origin',
          headers: { Accept: 'application/json' },
        })
          .then((response) => response.json().then((data) => ({ ok: response.ok, data: data })))
          .then((answer) => {
            if (request !== this.requests) return;
            if (answer.ok) {
              this.showErrors('');
              this.showCount(answer.data.text, answer.data.contacts);
            } else {
              this.showErrors(answer.data.error || this.strings.countFailed, answer.data.position);
              this.showCount('');
            }
          })
          .catch(() => {
            if (request === this.requests) this.showCount(this.strings.countFailed);
          })
          .finally(() => {
            if (request === this.requests) this.countTarget.removeAttribute('aria-busy');
          });
      }
    }
    return ConditionsController;
  }

  function register() {
    if (!(window.wagtail && window.wagtail.app && window.StimulusModule)) return false;
    window.wagtail.app.register('mailflow-conditions', define(window.StimulusModule.Controller));
    return true;
  }

  if (!register()) document.addEventListener('DOMContentLoaded', register, { once: true });
})();
