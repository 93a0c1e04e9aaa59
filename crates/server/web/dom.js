// Building the page: elements, the toast, field errors, dates, and the navigation hook.

export const $ = (sel, el = document) => el.querySelector(sel);

// h('button', {class: 'primary', onclick}, 'Save'): an element with attributes, handlers, children.
export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};

export function toast(msg, bad = false) {
  const t = $('#toast');
  t.textContent = msg;
  t.className = 'show' + (bad ? ' bad' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ''), bad ? 4000 : 2500);
}

// Shows an API error beside the input whose data-field is the error's field.
export function showFieldError(form, err) {
  clearFieldErrors(form);
  const input = err.field && form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const note = h('div', { class: 'field-error' }, err.message);
  if (input) input.after(note);
  else form.append(note);
}

export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
}

// The screens register themselves here (app.js): a view calls nav.go('sale') without importing app.js.
export const nav = { go: async () => {} };

// Asks the user in the page's own dialog (#ask): resolves true/false, or the typed text with
// { input: true } (null when cancelled). Keyboard: Enter answers, Escape cancels.
export function ask(message, { ok = 'OK', cancel = 'Cancel', danger = false, input = false } = {}) {
  const dialog = $('#ask');
  const field = input ? h('input', { id: 'ask-input', autocomplete: 'off' }) : null;
  const okButton = h('button', { type: 'submit', id: 'ask-ok', class: danger ? 'danger primary' : 'primary', value: 'ok' }, ok);
  const cancelButton = h('button', { type: 'button', id: 'ask-cancel' }, cancel);
  const form = h('form', { method: 'dialog' }, h('p', { id: 'ask-message' }, message), field, h('div', { class: 'row' }, cancelButton, okButton));
  dialog.replaceChildren(form);
  return new Promise((resolve) => {
    let answered = false;
    const done = (value) => { if (answered) return; answered = true; if (dialog.open) dialog.close(); resolve(value); };
    form.addEventListener('submit', (ev) => { ev.preventDefault(); done(input ? field.value.trim() || null : true); });
    cancelButton.addEventListener('click', () => done(input ? null : false));
    dialog.addEventListener('cancel', () => done(input ? null : false), { once: true });
    dialog.showModal();
    (field || okButton).focus();
  });
}

// Closes an open question without an answer (logout).
export function closeAsk() {
  const dialog = $('#ask');
  if (dialog?.open) dialog.close();
}
