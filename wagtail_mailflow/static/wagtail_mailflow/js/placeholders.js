/* The template editor's "Insert a placeholder" menu: the contact's fields and properties
 * (from the server's JSON), an optional value for contacts without one, and the placeholder
 * inserted where the cursor was in the text field focused last: the subject, the preheader,
 * a block's text input or text area, or a rich text (Draftail).
 *
 * A Stimulus controller registered with Wagtail's application as "mailflow-placeholders".
 * The text it writes is the one the personalisation parser reads:
 * {{ contact.first_name }} or {{ contact.first_name|default:"friend" }} (quoted with ' when
 * the value holds a ").
 */
(function () {
  'use strict';

  /** The placeholder printing `variable`, or an error's key when `fallback` cannot be written. */
  function placeholderText(variable, fallback) {
    if (!fallback.trim()) return { text: '{{ ' + variable + ' }}' };
    if (fallback.indexOf('}}') !== -1) return { error: 'braces' };
    var quote = fallback.indexOf('"') === -1 ? '"' : "'";
    if (fallback.indexOf(quote) !== -1) return { error: 'quotes' };
    return { text: '{{ ' + variable + '|default:' + quote + fallback + quote + ' }}' };
  }

  function define(Controller) {
    class PlaceholdersController extends Controller {
      static targets = ['dropdown', 'fallback', 'error', 'list', 'status'];

      static values = { configId: String };

      // Before connect(): the menu's targets announce themselves first.
      initialize() {
        this.config = JSON.parse(document.getElementById(this.configIdValue).textContent);
        this.strings = this.config.strings;
        this.field = null; // the text field focused last
        this.range = null; // where the cursor was in it, for a rich text
      }

      // The menu's content is mounted by the dropdown when it first opens.
      listTargetConnected(list) {
        if (list.childElementCount) return;
        this.config.groups.forEach((group) => {
          var heading = document.createElement('p');
          heading.className = 'mailflow-placeholders__group';
          heading.textContent = group.label;
          list.appendChild(heading);
          group.items.forEach((item) => {
            var button = document.createElement('button');
            button.type = 'button';
            button.className = 'mailflow-placeholders__item';
            button.setAttribute('data-action', 'mailflow-placeholders#insert');
            button.setAttribute('data-mailflow-placeholders-variable-param', item.variable);
            button.setAttribute('data-mailflow-placeholder', item.placeholder);
            var label = document.createElement('span');
            label.textContent = item.label;
            var code = document.createElement('code');
            code.textContent = item.placeholder;
            button.append(label, code);
            list.appendChild(button);
          });
        });
      }

      // -- Following the text field the editor is in --------------------------------------------

      /** The text field `element` is, when the menu may insert into it. */
      textField(element) {
        if (!(element instanceof HTMLElement)) return null;
        var form = element.closest('form[data-edit-form]');
        if (!form) return null;
        if (element.isContentEditable) {
          return element.closest('[contenteditable="true"]');
        }
        var name = element.getAttribute('name') || '';
        var isText =
          element.tagName === 'TEXTAREA' ||
          (element.tagName === 'INPUT' && (element.getAttribute('type') || 'text') === 'text');
        if (!isText) return null;
        if (this.config.fields.indexOf(name) !== -1) return element;
        var prefixed = this.config.prefixes.some((prefix) => name.indexOf(prefix) === 0);
        return prefixed ? element : null;
      }

      track(event) {
        var field = this.textField(event.target);
        if (!field) return;
        if (field !== this.field) {
          this.field = field;
          this.range = null;
        }
        this.statusTarget.textContent = this.strings.target.replace(
          '%(field)s',
          this.fieldLabel(field),
        );
      }

      /** Keep where the cursor is in a rich text: its selection is lost when the menu opens. */
      remember() {
        var field = this.field;
        if (!field || !field.isContentEditable || !field.contains(document.activeElement)) return;
        var selection = window.getSelection();
        if (!selection.rangeCount) return;
        var range = selection.getRangeAt(0);
        if (field.contains(range.startContainer) && field.contains(range.endContainer)) {
          this.range = range.cloneRange();
        }
      }

      fieldLabel(field) {
        var text = '';
        var label = (field.labels && field.labels[0]) || document.getElementById(field.id + '-label');
        if (label) text = label.textContent;
        if (!text.trim()) {
          var block = field.closest('[data-streamfield-child]');
          var type = block && block.querySelector('[data-block-title], .c-sf-block__type');
          text = type ? type.textContent : this.strings.text;
        }
        return text.replace(/\*/g, '').replace(/\s+/g, ' ').trim();
      }

      // -- The menu -----------------------------------------------------------------------------

      opened() {
        this.showError(this.field && this.field.isConnected ? '' : this.strings.noTarget);
        this.fallbackTarget.focus();
      }

      clearError() {
        this.showError('');
      }

      showError(message) {
        if (!this.hasErrorTarget) return;
        this.errorTarget.textContent = message;
        this.errorTarget.hidden = !message;
      }

      insert(event) {
        var field = this.field;
        if (!field || !field.isConnected) {
          this.showError(this.strings.noTarget);
          return;
        }
        var placeholder = placeholderText(event.params.variable, this.fallbackTarget.value);
        if (placeholder.error) {
          this.showError(this.strings[placeholder.error]);
          this.fallbackTarget.focus();
          return;
        }
        this.fallbackTarget.value = '';
        this.showError('');
        var dropdown = this.application.getControllerForElementAndIdentifier(
          this.dropdownTarget,
          'w-dropdown',
        );
        if (dropdown) dropdown.hide();
        if (field.isContentEditable) {
          this.insertRich(field, placeholder.text);
        } else {
          this.insertPlain(field, placeholder.text);
        }
      }

      /** An input or a text area: at its cursor, through the browser (so undo works). */
      insertPlain(field, text) {
        var end = field.value.length;
        var start = field.selectionStart === null ? end : field.selectionStart;
        var stop = field.selectionEnd === null ? start : field.selectionEnd;
        field.focus();
        field.setSelectionRange(start, stop);
        if (!document.execCommand('insertText', false, text)) {
          field.setRangeText(text, start, stop, 'end');
          field.dispatchEvent(new Event('input', { bubbles: true }));
        }
        field.dispatchEvent(new Event('change', { bubbles: true }));
      }

      /** A rich text: the cursor put back where it was, then typed in as the editor's own input. */
      insertRich(field, text) {
        var range = this.range;
        field.focus();
        if (range && field.contains(range.startContainer)) {
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        document.execCommand('insertText', false, text);
      }
    }
    return PlaceholdersController;
  }

  function register() {
    if (!(window.wagtail && window.wagtail.app && window.StimulusModule)) return false;
    window.wagtail.app.register('mailflow-placeholders', define(window.StimulusModule.Controller));
    return true;
  }

  if (!register()) document.addEventListener('DOMContentLoaded', register, { once: true });
})();
